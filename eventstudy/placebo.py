"""Placebo: how often each test rejects on the study's own firms when nothing happened.

The study's design — its firms, groups, model, benchmark, estimation window and event windows —
is run again on pseudo-event dates drawn from the data (Brown & Warner 1980, 1985): sessions
whose estimation window and event windows lie inside the data and whose event windows keep at
least one session away from the real event's. Dates are drawn without replacement, so there
are at most as many draws as such dates. For every group, window and test: the share of draws
that reject at 1 %, 5 % and 10 %, each with its exact (Clopper–Pearson) 95 % interval, and the
real event's empirical p-value, (1 + #{|S_b| ≥ |S_event|}) / (1 + B), beside the test's own.

A test whose placebo rejection rate at 5 % has an interval that holds 5 % kept its size on these
firms in this period; one whose interval lies above it over-rejects here, whatever its theory.
The empirical p needs no distributional assumption: it is where the event falls among days
when nothing happened, on the same firms.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import __version__, calendar
from .data import default_snapshot
from .data.snapshot import MANIFEST
from .engine import Design
from .pipeline import prepare
from .study import Study
from .windows import Window

LEVELS = (0.01, 0.05, 0.10)
SEARCH_SESSIONS = 504  # pseudo-events are sought up to two years of sessions either side of the event
COVERAGE = 0.5  # a session is inside the data when at least half of the firms have a return
DRAW_COLUMNS = ["draw", "date", "group", "window", "test", "robust", "stat", "p", "n_firms"]


@dataclass(frozen=True)
class PlaceboResults:
    """``draws``: one row per pseudo-event, group, window and test (:data:`DRAW_COLUMNS`);
    ``table``: per group, window and test, the rejection rates with their intervals, the real
    event's statistic, its own p and its empirical p; ``dates``: how many pseudo-event dates
    the data allow; ``requested``/``seed``: as asked; ``fingerprint``: of the study and data
    they were made for."""

    draws: pd.DataFrame
    table: pd.DataFrame
    dates: int
    requested: int
    seed: int
    fingerprint: str = ""  # what the draws were made from (:func:`fingerprint`)

    @property
    def n_draws(self) -> int:
        return int(self.draws.draw.nunique())

    def _sizes(self, window: str) -> pd.DataFrame:
        """One row per group and test of ``window``: its 5 % rejection rate, whether the
        interval holds 5 % (``held``) and whether it lies above it (``over``)."""
        t = self.table[self.table.window == window]
        return t.assign(held=(t.lo_05 <= 0.05) & (0.05 <= t.hi_05), over=t.lo_05 > 0.05)

    def trust(self, window: str) -> pd.DataFrame:
        """ "How much to trust each test here": per test, its 5 % rejection rate in each group
        over ``window``, and in how many groups the interval holds 5 % (held its size) or lies
        above it."""
        t = self._sizes(window)
        out = t.pivot_table(index="test", columns="group", values="reject_05", sort=False).reset_index()
        counts, n = t.groupby("test", sort=False)[["held", "over"]].sum(), t.group.nunique()
        out.insert(1, "held_size", [f"{int(k)} of {n}" for k in counts.held])
        out.insert(2, "over_rejects", [f"{int(k)} of {n}" for k in counts.over])
        return out

    def held_in_most(self, window: str) -> tuple[list[str], list[str]]:
        """The tests that kept their size in at least half of the groups over ``window``, and
        those that over-rejected in at least half."""
        share = self._sizes(window).groupby("test", sort=False)[["held", "over"]].mean()
        return list(share.index[share.held >= 0.5]), list(share.index[share.over >= 0.5])

    def estimation_overlaps(self, event: pd.Timestamp, estimation: Window) -> int:
        """How many pseudo-events have the real event inside their estimation window."""
        dates = pd.DatetimeIndex(self.draws.drop_duplicates("draw").date)
        if not len(dates):
            return 0
        first = min(dates.min(), event)
        days = calendar.sessions(calendar.session_offset(first, estimation.start - 1), max(dates.max(), event))
        pos, e = days.searchsorted(dates), days.searchsorted(event)
        return int(((pos + estimation.start <= e) & (e <= pos + estimation.end)).sum())


def candidate_dates(design: Design, event: pd.Timestamp) -> pd.DatetimeIndex:
    """Sessions where the design fits inside the data and its event windows stay at least one
    session clear of the real event's."""
    days = design.returns.index
    return days[_fits(design) & ~_blocked(design, [days.searchsorted(event)])]


def _reach(design: Design) -> tuple[int, int]:
    """The lowest and highest session of the event windows and the path, from day 0."""
    return min(w.start for w in design.windows), max(w.end for w in (*design.windows, design.path))


def _fits(design: Design) -> np.ndarray:
    """Sessions whose estimation window and event windows lie inside the data (the sessions
    where at least :data:`COVERAGE` of the firms have a return)."""
    have = np.flatnonzero((design.returns.notna().mean(axis=1) >= COVERAGE).to_numpy())
    pos = np.arange(len(design.returns.index))
    if not len(have):
        return np.zeros(len(pos), dtype=bool)
    return (pos + design.estimation.start - 1 >= have[0]) & (pos + _reach(design)[1] <= have[-1])


def _blocked(design: Design, events: list[int]) -> np.ndarray:
    """Sessions whose event windows would touch (come within one session of) the windows of
    the events at positions ``events``."""
    lo, hi = _reach(design)
    blocked = np.zeros(len(design.returns.index), dtype=bool)
    for e in events:
        blocked[max(0, e + lo - 1 - hi) : max(0, e + hi + 1 - lo + 1)] = True
    return blocked


def draw_placebo(
    design: Design,
    event: pd.Timestamp,
    draws: int,
    seed: int,
    real_tests: pd.DataFrame,
    progress: Callable[[int, int, str], None] | None = None,
) -> PlaceboResults:
    """The design on up to ``draws`` pseudo-event dates, drawn without replacement with the
    seed (the same seed, the same dates and numbers); ``real_tests`` are the event's tests."""
    dates = candidate_dates(design, event)
    rng = np.random.default_rng(seed)
    chosen = dates[np.sort(rng.choice(len(dates), size=min(draws, len(dates)), replace=False))]
    frames = []
    for k, date in enumerate(chosen, 1):
        frames.append(design.at(date).tests.assign(draw=k, date=date)[DRAW_COLUMNS])
        if progress:
            progress(k, len(chosen), f"{date:%Y-%m-%d}")
    drawn = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DRAW_COLUMNS)
    return PlaceboResults(drawn, summarize(drawn, real_tests), len(dates), draws, seed)


def draw_sample_placebo(
    design: Design,
    events: pd.DataFrame,
    draws: int,
    seed: int,
    real_tests: pd.DataFrame,
    progress: Callable[[int, int, str], None] | None = None,
) -> PlaceboResults:
    """A sample of firm-events on their own dates, moved ``draws`` times: the events of each
    real date move together to one random session (so the sample keeps its clustering), chosen
    where the windows fit the data and stay clear of the real events of every firm moved, and
    distinct dates stay distinct within a draw while sessions last. ``dates`` counts the
    sessions any date could move to."""
    days = design.returns.index
    pos = days.searchsorted(pd.DatetimeIndex(events.event_date))
    own = pd.Series(pos, index=events.index).groupby(events.ticker.to_numpy()).agg(list).to_dict()
    fits = _fits(design)
    clusters = {}
    for date, part in events.groupby("event_date", sort=True):
        blocked = _blocked(design, [p for t in dict.fromkeys(part.ticker) for p in own[t]])
        clusters[date] = (part.index, np.flatnonzero(fits & ~blocked))
    usable = [c for c in clusters.values() if len(c[1])]
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(1, draws + 1):
        moved, taken = pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns]"), set()
        for i in rng.permutation(len(usable)):
            rows, where = usable[i]
            free = [p for p in where if p not in taken]
            p = rng.choice(free if free else where)
            taken.add(int(p))
            moved[rows] = days[p]
        kept = events.assign(event_date=moved).dropna(subset=["event_date"])
        frames.append(design.run(kept).tests.assign(draw=k, date=pd.NaT)[DRAW_COLUMNS])
        if progress:
            progress(k, draws, f"draw {k}")
    drawn = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DRAW_COLUMNS)
    sessions = np.unique(np.concatenate([c[1] for c in usable])) if usable else []
    return PlaceboResults(drawn, summarize(drawn, real_tests), len(sessions), draws, seed)


def run_placebo(
    study: Study,
    draws: int,
    seed: int,
    *,
    real,
    offline: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    **load_kwargs,
) -> PlaceboResults:
    """The study's design on dates without its events, beside ``real`` (its results). One
    event date: the firms' event moved to pseudo-event dates up to two years of sessions
    either side, with the main benchmark. A sample: each real date's events moved together
    (:func:`draw_sample_placebo`) over the sessions its data cover."""
    if study.is_sample:
        from .sample import sample_design, study_panel

        events = real.main.events[["event_id", "ticker", "event_date"]]
        panel = study_panel(study, events, offline=offline, **load_kwargs)
        design = sample_design(study, panel, real.events[real.events.event_id.isin(events.event_id)])
        res = draw_sample_placebo(design, events, draws, seed, real.main.tests, progress)
        return replace(res, fingerprint=fingerprint(study, draws, seed))
    event = calendar.roll_event_date(study.event_date).date
    start = calendar.session_offset(event, -SEARCH_SESSIONS)
    end = min(calendar.session_offset(event, SEARCH_SESSIONS), pd.Timestamp.today().normalize())
    p = prepare(study, offline=offline, span=(start, end), **load_kwargs)
    design = p.design(p.regressors(study.benchmark)[1])
    res = draw_placebo(design, event, draws, seed, real.main.tests, progress)
    return replace(res, fingerprint=fingerprint(study, draws, seed))


def summarize(draws: pd.DataFrame, real_tests: pd.DataFrame) -> pd.DataFrame:
    """Rejection rates with Clopper–Pearson intervals and the real event's empirical p, per
    group, window and test (in the order of the draws' tests: the core's order)."""
    keys = ["group", "window", "test"]
    real = real_tests[[*keys, "stat", "p"]].rename(columns={"stat": "stat_event", "p": "p_event"})
    d = draws.merge(real, on=keys, how="left")
    has_p, has_stat = d.p.notna(), d.stat.notna()
    flags = {f"k_{round(100 * level):02d}": has_p & (d.p < level) for level in LEVELS}
    d = d.assign(
        has_p=has_p,
        has_stat=has_stat,
        beyond=has_stat & (d.stat.abs() >= d.stat_event.abs()),
        **flags,
    )
    by = d.groupby(keys, sort=False)
    table = by.agg(
        robust=("robust", "first"),
        n_draws=("has_p", "sum"),
        n_stat=("has_stat", "sum"),
        beyond=("beyond", "sum"),
        stat=("stat_event", "first"),
        p=("p_event", "first"),
        **{k: (k, "sum") for k in flags},
    ).reset_index()
    n = table.n_draws.to_numpy(dtype=float)
    out = table[[*keys, "robust"]].assign(n_draws=table.n_draws.astype(int))
    for level in LEVELS:
        tag = f"{round(100 * level):02d}"
        k = table[f"k_{tag}"].to_numpy(dtype=float)
        lo, hi = clopper_pearson(k, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"reject_{tag}"] = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        out[f"lo_{tag}"], out[f"hi_{tag}"] = lo, hi
    finite = np.isfinite(table.stat.to_numpy(dtype=float)) & (table.n_stat > 0)
    empirical = (1 + table.beyond) / (1 + table.n_stat)
    return out.assign(stat=table.stat, p=table.p, p_empirical=np.where(finite, empirical, np.nan))


def clopper_pearson(k, n, coverage: float = 0.95):
    """The exact binomial interval for k rejections in n draws (scalars or arrays)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    a = (1 - coverage) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k == 0, 0.0, stats.beta.ppf(a, np.maximum(k, 1), n - k + 1))
        hi = np.where(k == n, 1.0, stats.beta.ppf(1 - a, k + 1, np.maximum(n - k, 1)))
    empty = n == 0
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


# --- kept with the results: `run` reuses them while the design and the data are the same ----------

RECORD, DRAWS, TABLE = "placebo.json", "placebo_draws.csv", "placebo.csv"


def fingerprint(study: Study, draws: int, seed: int) -> str:
    """What the placebo results depend on: the study file (and a sample's events file), the
    command-line overrides, the snapshot's manifest (the data), the package version, the draws
    and the seed."""
    h = hashlib.sha256()
    events = Path(study.events.file).read_bytes() if study.is_sample else b""
    manifest = (default_snapshot().root / MANIFEST).read_bytes()
    for part in (Path(study.path_file).read_bytes(), events, " ".join(study.overrides).encode(), manifest):
        h.update(hashlib.sha256(part).digest())
    h.update(f"{__version__}|{draws}|{seed}".encode())
    return h.hexdigest()


def save(res: PlaceboResults, folder: Path) -> None:
    """The draws at full precision (so that reading them back gives the same table), the
    table, and the record of what they were made from."""
    text = res.draws.assign(date=res.draws.date.dt.strftime("%Y-%m-%d")).to_csv(
        index=False, float_format="%.17g", lineterminator="\n"
    )
    (folder / DRAWS).write_text(text)
    record = {
        "fingerprint": res.fingerprint,
        "draws": res.requested,
        "seed": res.seed,
        "dates": res.dates,
        "draws_sha256": hashlib.sha256(text.encode()).hexdigest(),  # the draws are read back only if whole
    }
    (folder / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def kept(folder: Path, real) -> tuple[PlaceboResults | None, str]:
    """The placebo an earlier run left in ``folder`` for ``real`` (a study's results), if it was
    made for this study and these data (only the snapshot's: a cache may change), else None; and
    a note when one was there but could not be kept ("" when there was none)."""
    try:
        record = json.loads((folder / RECORD).read_text())
        fp = fingerprint(real.study, int(record["draws"]), int(record["seed"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None, ""
    stale = f"the placebo results in {folder} were made for another design or other data: rerun `eventstudy placebo`"
    if record.get("fingerprint") != fp or set(real.provenance.origin) != {"snapshot"}:
        return None, stale
    try:
        content = (folder / DRAWS).read_bytes()
        if hashlib.sha256(content).hexdigest() != record.get("draws_sha256"):
            return (
                None,
                f"{folder / DRAWS} is not the file its record describes (altered or cut short): rerun "
                "`eventstudy placebo`",
            )
        draws = pd.read_csv(io.BytesIO(content), parse_dates=["date"], dtype={"group": str, "window": str, "test": str})
    except (OSError, ValueError):
        return None, stale
    if list(draws.columns) != DRAW_COLUMNS:
        return None, stale
    draws["robust"] = draws.robust.astype(bool)
    table = summarize(draws, real.main.tests)
    return PlaceboResults(draws, table, int(record["dates"]), int(record["draws"]), int(record["seed"]), fp), ""
