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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..core import calendar
from ..core.engine import Design
from ..core.windows import Window
from ..data import default_snapshot
from ..data.files import file_facts
from ..data.snapshot import MANIFEST
from ..errors import CalendarError, PlaceboError
from .drawing import DRAW_COLUMNS, Draw, OnePseudoDate, Shifted, run_draws
from .pipeline import prepare
from .spec import Study
from .workspace import shown

LEVELS = (0.01, 0.05, 0.10)
SEARCH_SESSIONS = 504  # pseudo-events are sought up to two years of sessions either side of the event
COVERAGE = 0.5  # a session is inside the data when at least half of the firms have a return
TOLERANCE = 2.0  # a test "held its size" when its interval excludes TOLERANCE × the nominal rate
SIZE_WORDS = ("held its size", "over-rejects", "too few draws to tell")


@dataclass(frozen=True)
class PlaceboResults:
    """``draws``: one row per pseudo-event, group, window and test (:data:`DRAW_COLUMNS`;
    ``offset``: the sessions the event, or the whole sample, was moved by); ``table``: per
    group, window and test, the rejection rates with their intervals on the draws' effective
    number (``n_eff``: draws whose event windows overlap share information), the verdict on the
    test's size, the real event's statistic, its own p and its empirical p; ``dates``: how
    many pseudo-event dates (one date) or shifts (a sample) the data allow; ``ring``: for a
    sample, the sessions its events are shifted around in (0 for one date); ``set_aside``: a
    sample's events left out per draw, on average (their moved windows touched the firm's own
    real events); ``requested``/``seed``: as asked; ``fingerprint``: of the study and data."""

    draws: pd.DataFrame
    table: pd.DataFrame
    dates: int
    requested: int
    seed: int
    fingerprint: str = ""
    ring: int = 0
    set_aside: float = 0.0

    @property
    def n_draws(self) -> int:
        return int(self.draws.draw.nunique())

    def effective(self, window: str) -> float:
        """The draws' effective number on ``window`` (see :func:`effective_draws`)."""
        t = self.table[self.table.window == window]
        return float(t.n_eff.max()) if len(t) else float("nan")

    def trust(self, window: str) -> pd.DataFrame:
        """ "How much to trust each test here": per test, its 5 % rejection rate in each group
        over ``window``, and in how many groups it held its size, over-rejected, or the draws
        were too few to tell."""
        t = self.table[self.table.window == window]
        out = t.pivot_table(index="test", columns="group", values="reject_05", sort=False).reset_index()
        n = t.group.nunique()
        counts = {word: t.assign(hit=t.size_05 == word).groupby("test", sort=False).hit.sum() for word in SIZE_WORDS}
        for i, word in enumerate(SIZE_WORDS, 1):
            out.insert(i, word.replace(" ", "_").replace("-", "_"), [f"{int(k)} of {n}" for k in counts[word]])
        return out

    def held_in_most(self, window: str) -> tuple[list[str], list[str]]:
        """The tests that held their size in at least half of the groups over ``window``, and
        those that over-rejected in at least half."""
        t = self.table[self.table.window == window]
        share = t.assign(held=t.size_05 == SIZE_WORDS[0], over=t.size_05 == SIZE_WORDS[1]).groupby("test", sort=False)[
            ["held", "over"]
        ]
        share = share.mean()
        return list(share.index[share.held >= 0.5]), list(share.index[share.over >= 0.5])


def other_events_span(design: Design) -> Window:
    """The sessions an event occupies around its day 0 (its windows and path): what the core
    leaves out of the estimation windows of the firm's other events."""
    return Window(
        min(w.start for w in (*design.windows, design.path)), max(w.end for w in (*design.windows, design.path))
    )


def _reach(design: Design) -> tuple[int, int]:
    """The lowest and highest session of the event windows and the path, from day 0."""
    span = other_events_span(design)
    return span.start, span.end


def _fits(design: Design) -> np.ndarray:
    """Sessions where a pseudo-event fits the study's own rules: its event windows and path
    inside the data (the sessions where at least :data:`COVERAGE` of the firms have a return),
    and enough of its estimation window there to meet ``min_estimation_obs``."""
    have = np.flatnonzero((design.returns.notna().mean(axis=1) >= COVERAGE).to_numpy())
    pos = np.arange(len(design.returns.index))
    if not len(have):
        return np.zeros(len(pos), dtype=bool)
    lo, hi = _reach(design)
    est = design.estimation
    inside = pos + est.end - np.maximum(pos + est.start, have[0]) + 1
    return (inside >= design.min_estimation_obs) & (pos + lo >= have[0]) & (pos + hi <= have[-1])


def _blocked(design: Design, events: list[int]) -> np.ndarray:
    """Sessions whose event windows would touch (come within one session of) the windows of
    the events at positions ``events``."""
    lo, hi = _reach(design)
    blocked = np.zeros(len(design.returns.index), dtype=bool)
    for e in events:
        blocked[max(0, e + lo - 1 - hi) : max(0, e + hi + 1 - lo + 1)] = True
    return blocked


def candidate_dates(design: Design, event: pd.Timestamp) -> pd.DatetimeIndex:
    """Sessions where the design fits the data by the study's rules and its event windows stay
    at least one session clear of the real event's."""
    days = design.returns.index
    return days[_fits(design) & ~_blocked(design, [days.searchsorted(event)])]


def without_real_events(design: Design, tickers: Sequence[str], positions: Sequence[int]) -> Design:
    """The design with each firm's returns on its real events' sessions (windows and path; the
    events: each ticker with its session's position) set missing, when the study leaves a firm's
    other events out of its estimation windows: a pseudo-event's estimation window then holds no
    real event, as the real events' do not. Its runs give the tests alone (a draw reads nothing
    else: :meth:`~eventstudy.core.engine.Design.tests_only`)."""
    if not design.exclude_other_events:
        return design.tests_only()
    span = other_events_span(design)
    values = design.returns.to_numpy(dtype="float64", copy=True)
    columns = design.returns.columns
    col, at = columns.get_indexer(pd.Index(tickers)), np.asarray(positions, dtype=np.int64)
    col, at = col[col >= 0], at[col >= 0]  # a ticker without returns has nothing to mask
    for offset in range(span.start, span.end + 1):  # one session of every event's span at a time
        row = at + offset
        inside = (row >= 0) & (row < len(values))
        values[row[inside], col[inside]] = np.nan
    returns = pd.DataFrame(values, index=design.returns.index, columns=columns, copy=False)  # our own copy already
    return replace(design, returns=returns).tests_only()


def draw_placebo(
    design: Design,
    event: pd.Timestamp,
    draws: int,
    seed: int,
    real_tests: pd.DataFrame,
    progress: Callable[[int, int, str], None] | None = None,
    **spread,
) -> PlaceboResults:
    """The design on up to ``draws`` pseudo-event dates, drawn without replacement with the
    seed (the same seed, the same dates and numbers); ``real_tests`` are the event's tests.
    ``spread`` (``workers``, ``scheduler``) says where the draws run (:func:`.drawing.run_draws`)."""
    days = design.returns.index
    e = int(days.searchsorted(event))
    dates = candidate_dates(design, event)
    masked = without_real_events(design, design.returns.columns, np.full(design.returns.shape[1], e))
    rng = np.random.default_rng(seed)
    chosen = dates[np.sort(rng.choice(len(dates), size=min(draws, len(dates)), replace=False))]
    jobs = [Draw(k, date, int(days.get_loc(date)) - e, f"{date:%Y-%m-%d}") for k, date in enumerate(chosen, 1)]
    drawn = run_draws(masked, OnePseudoDate(tuple(design.returns.columns)), jobs, progress=progress, **spread)
    return PlaceboResults(drawn, summarize(drawn, real_tests, _lengths(design)), len(dates), draws, seed)


def shift_ring(design: Design) -> tuple[int, int]:
    """The first and last session where a sample's pseudo-event fits (:func:`_fits`): its events
    are shifted around inside this stretch."""
    fits = np.flatnonzero(_fits(design))
    return (int(fits[0]), int(fits[-1])) if len(fits) else (0, -1)


def draw_sample_placebo(
    design: Design,
    events: pd.DataFrame,
    draws: int,
    seed: int,
    real_tests: pd.DataFrame,
    progress: Callable[[int, int, str], None] | None = None,
    **spread,
) -> PlaceboResults:
    """A sample of firm-events on their own dates, moved ``draws`` times as a block: every event
    shifted by the same number of sessions d (around the stretch where pseudo-events fit,
    wrapping from its end to its start), so the sample keeps its spread of dates, its clustering
    and its overlapping windows, and no firm ever has two events on one day. Shifts are drawn
    without replacement among those that move every event's windows clear of its own; an event
    whose moved windows touch another real event of its firm is set aside for that draw (and
    counted). The firms' real events are left out of the estimation windows
    (:func:`without_real_events`)."""
    days = design.returns.index
    pos = days.searchsorted(pd.DatetimeIndex(events.event_date))
    masked = without_real_events(design, events.ticker.to_numpy(), pos)
    first, last = shift_ring(design)
    size = last - first + 1
    lo, hi = _reach(design)
    gap = hi - lo + 2  # a shift this small would leave an event's windows touching its own
    offsets = np.arange(gap, size - gap + 1) if size > 2 * gap else np.array([], dtype=int)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(offsets, size=min(draws, len(offsets)), replace=False)) if len(offsets) else offsets
    shifted = Shifted(events, days, pos, pd.factorize(events.ticker)[0], first, size, hi - lo + 1)
    jobs = [Draw(k, pd.NaT, int(d), f"shift {d}") for k, d in enumerate(chosen, 1)]
    aside = [int(shifted.touching(d).sum()) for d in chosen]
    drawn = run_draws(masked, shifted, jobs, progress=progress, **spread)
    table = summarize(drawn, real_tests, _lengths(design), size)
    return PlaceboResults(drawn, table, len(offsets), draws, seed, ring=size, set_aside=float(np.mean(aside or [0])))


def _lengths(design: Design) -> dict[str, int]:
    return {w.label: w.length for w in design.windows}


def run_placebo(
    study: Study,
    draws: int,
    seed: int,
    *,
    real,
    offline: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    workers: int | None = None,
    scheduler: object = None,
    **load_kwargs,
) -> PlaceboResults:
    """The study's design on dates without its events, beside ``real`` (its results). One
    event date: the firms' event moved to pseudo-event dates up to two years of sessions
    either side, with the main benchmark. A sample: the whole sample shifted in calendar time
    (:func:`draw_sample_placebo`) over the sessions its data cover. Raises
    :class:`PlaceboError` when the data allow no pseudo-event. The draws run on ``workers``
    processes (default: the cores) or on a Dask ``scheduler`` (:func:`.drawing.run_draws`), with
    the same numbers either way."""
    spread = {"workers": workers, "scheduler": scheduler}
    if study.is_sample:
        from .sample import sample_design, study_panel

        events = real.main.events[["event_id", "ticker", "event_date"]]
        panel = study_panel(study, events, offline=offline, **load_kwargs)
        design = sample_design(study, panel, real.events[real.events.event_id.isin(events.event_id)])
        res = draw_sample_placebo(design, events, draws, seed, real.main.tests, progress, **spread)
    else:
        event = calendar.roll_event_date(study.event_date, study.exchange).date
        start = _offset_within(event, -SEARCH_SESSIONS, study.exchange)
        end = min(_offset_within(event, SEARCH_SESSIONS, study.exchange), pd.Timestamp.today().normalize())
        p = prepare(study, offline=offline, span=(start, end), **load_kwargs)
        design = p.design(p.regressors(study.benchmark)[1])
        res = draw_placebo(design, event, draws, seed, real.main.tests, progress, **spread)
    if not res.n_draws:
        raise PlaceboError(
            f"no pseudo-event fits the data of {study.name}: the estimation window (at least "
            f"{study.min_estimation_obs} returns) and the windows must lie inside the data, clear of the real "
            "event's; shorten the estimation window or lower min_estimation_obs"
        )
    return replace(res, fingerprint=fingerprint(study, draws, seed))


def _offset_within(event: pd.Timestamp, n: int, exchange: str) -> pd.Timestamp:
    """The session ``n`` sessions from ``event``, or the calendar's edge when it ends before
    (a calendar of the market file's dates)."""
    try:
        return calendar.session_offset(event, n, exchange)
    except (CalendarError, ValueError, IndexError):
        days = calendar.sessions(event - pd.Timedelta(days=8000), event + pd.Timedelta(days=8000), exchange)
        return days[0] if n < 0 else days[-1]


def effective_draws(offsets: np.ndarray, length: int, ring: int = 0) -> float:
    """How many independent draws ``offsets`` are worth for a window of ``length`` sessions: two
    pseudo-events d sessions apart share max(0, L − d)/L of their window days, so their
    statistics correlate about that much; n_eff = n² / Σ_kl ρ_kl (the variance inflation of a
    mean of dependent draws). ``ring``: distances wrap around it (a sample's shifts)."""
    o = np.asarray(offsets, dtype=float)
    if not len(o):
        return 0.0
    d = np.abs(o[:, None] - o[None, :])
    if ring:
        d = np.minimum(d, ring - d)
    rho = np.clip(length - d, 0, None) / length
    return float(len(o) ** 2 / rho.sum())


def summarize(draws: pd.DataFrame, real_tests: pd.DataFrame, lengths: dict[str, int], ring: int = 0) -> pd.DataFrame:
    """Rejection rates with Clopper–Pearson intervals on the draws' effective number (per
    window: :func:`effective_draws`), the verdict on each test's size at 5 % (held its size: the
    interval holds 5 % and excludes :data:`TOLERANCE` × 5 %; over-rejects: it lies above 5 %;
    else too few draws to tell), and the real event's empirical p, per group, window and test (in
    the order of the draws' tests: the core's order)."""
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
    offsets = draws.drop_duplicates("draw").offset.to_numpy()
    share = {w: effective_draws(offsets, lengths.get(w, 1), ring) / max(len(offsets), 1) for w in lengths}
    n = table.n_draws.to_numpy(dtype=float)
    n_eff = n * table.window.map(share).fillna(1.0).to_numpy(dtype=float)
    out = table[[*keys, "robust"]].assign(n_draws=table.n_draws.astype(int), n_eff=np.round(n_eff, 1))
    for level in LEVELS:
        tag = f"{round(100 * level):02d}"
        k = table[f"k_{tag}"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        lo, hi = clopper_pearson(rate * n_eff, n_eff)
        out[f"reject_{tag}"], out[f"lo_{tag}"], out[f"hi_{tag}"] = rate, lo, hi
    out["size_05"] = np.select(
        [out.lo_05 > 0.05, out.hi_05 <= TOLERANCE * 0.05], [SIZE_WORDS[1], SIZE_WORDS[0]], SIZE_WORDS[2]
    )
    out.loc[out.n_draws == 0, "size_05"] = SIZE_WORDS[2]
    finite = np.isfinite(table.stat.to_numpy(dtype=float)) & (table.n_stat > 0)
    empirical = (1 + table.beyond) / (1 + table.n_stat)
    return out.assign(stat=table.stat, p=table.p, p_empirical=np.where(finite, empirical, np.nan))


def clopper_pearson(k, n, coverage: float = 0.95):
    """The exact binomial interval for k rejections in n draws (scalars or arrays); k and n may
    be effective numbers (not whole: the beta quantiles take any positive parameters)."""
    from scipy import stats  # here: scipy.stats takes half a second to import, and a run reusing a placebo needs none

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    a = (1 - coverage) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k <= 0, 0.0, stats.beta.ppf(a, np.maximum(k, 1e-12), n - k + 1))
        hi = np.where(k >= n, 1.0, stats.beta.ppf(1 - a, k + 1, np.maximum(n - k, 1e-12)))
    empty = ~(n > 0)
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


# --- kept with the results: `run` reuses them while the design and the data are the same ----------

RECORD, DRAWS, TABLE = "placebo.json", "placebo_draws.csv", "placebo.csv"


def fingerprint(study: Study, draws: int, seed: int) -> str:
    """What the placebo results depend on: the study file (and a sample's events file), the
    command-line overrides, the data (the snapshot's manifest; a study's own files: each one's
    size, rows and sha256), the package version, the draws and the seed."""
    h = hashlib.sha256()
    events = Path(study.events.file).read_bytes() if study.is_sample else b""
    if study.own_data:
        facts = [file_facts(role, path) for role, path in study.data.files().items()]
        data = "|".join(f"{f['role']}:{f['bytes']}:{f['rows']}:{f['sha256']}" for f in facts).encode()
    else:
        data = (default_snapshot().root / MANIFEST).read_bytes()
    for part in (Path(study.path_file).read_bytes(), events, " ".join(study.overrides).encode(), data):
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
        "ring": res.ring,
        "set_aside": res.set_aside,
        "draws_sha256": hashlib.sha256(text.encode()).hexdigest(),  # the draws are read back only if whole
    }
    (folder / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def kept(folder: Path, real) -> tuple[PlaceboResults | None, str]:
    """The placebo an earlier run left in ``folder`` for ``real`` (a study's results), if it was
    made for this study and these data (the snapshot's or the study's own files, whose facts the
    fingerprint holds; never a cache's, which may change), else None; and
    a note when one was there but could not be kept ("" when there was none)."""
    try:
        record = json.loads((folder / RECORD).read_text())
        fp = fingerprint(real.study, int(record["draws"]), int(record["seed"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None, ""
    where = shown(folder)
    stale = f"the placebo results in {where} were made for another design or other data: rerun `eventstudy placebo`"
    fixed = real.study.own_data or set(real.provenance.origin) == {"snapshot"}
    if record.get("fingerprint") != fp or not fixed:
        return None, stale
    try:
        content = (folder / DRAWS).read_bytes()
        if hashlib.sha256(content).hexdigest() != record.get("draws_sha256"):
            return (
                None,
                f"{shown(folder / DRAWS)} is not the file its record describes (altered or cut short): rerun "
                "`eventstudy placebo`",
            )
        draws = pd.read_csv(io.BytesIO(content), parse_dates=["date"], dtype={"group": str, "window": str, "test": str})
    except (OSError, ValueError):
        return None, stale
    if list(draws.columns) != DRAW_COLUMNS:
        return None, stale
    draws["robust"] = draws.robust.astype(bool)
    ring = int(record.get("ring", 0))
    table = summarize(draws, real.main.tests, {w.label: w.length for w in real.main.windows}, ring)
    counts = (int(record["dates"]), int(record["draws"]), int(record["seed"]))
    return PlaceboResults(draws, table, *counts, fp, ring, float(record.get("set_aside", 0.0))), ""
