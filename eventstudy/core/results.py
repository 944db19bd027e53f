"""Immutable result objects: tidy frames inside, ``summary()`` for people."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .inference.parametric import portfolio_sigma
from .inference.statistic import t_quantile
from .models import Model
from .summary import Summary, Table
from .tables import stars
from .windows import Window

SUMMARY_ROWS = 30  # a summary lists at most this many firm-events or exclusions


def caar_frame(group: str, grid, aar, est_days, inside, level: float = 0.95) -> pd.DataFrame:
    """``group, day, aar, caar, se, lo, hi`` over the days ``inside`` (the path) of a group's mean
    AR on every relative day of ``grid``; se is the portfolio σ̂_p (over ``est_days``) · √days,
    and lo, hi the portfolio test's interval at ``level``: CAAR ± t(L_p − 1) se."""
    sigma_p, l_p = portfolio_sigma(aar, est_days)
    days = np.arange(1, inside.sum() + 1)
    caar, se = np.cumsum(aar[inside]), sigma_p * np.sqrt(days)
    half = t_quantile(0.5 + level / 2, l_p - 1) * se if l_p > 1 else np.full(len(se), np.nan)
    return pd.DataFrame(
        {
            "group": group,
            "day": grid[inside],
            "aar": aar[inside],
            "caar": caar,
            "se": se,
            "lo": caar - half,
            "hi": caar + half,
        }
    )


_NUMBER = re.compile(  # a count in a reason (not a date, bound or need), or a value it names (ω = 0.0134)
    r"(?<![\d\-\[,+])(\d+) (?!are needed)|(?<= = )(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
)
COUNT, VALUE = "\0", "\1"  # a reason's pattern marks where a count was, and where a value was


def excluded_by_reason(excluded: pd.DataFrame) -> pd.DataFrame:
    """``stage, reason, events``: exclusions counted by reason, the most frequent first. Reasons
    that differ only in their counts, or in the values they name, are one, each number given as
    its range over the events: "45 valid returns (3 left out ...)" and "52 valid returns (9 left
    out ...)" read "45–52 valid returns (3–9 left out ...)", "(ω = 0.0134, ...)" and "(ω =
    0.0028, ...)" read "(ω = 0.0028–0.0134, ...)"; dates, window bounds and what is needed are kept."""
    reason = excluded.reason.astype(str)
    pattern = reason.str.replace(_NUMBER, lambda m: f"{COUNT} " if m.group(1) else VALUE, regex=True)
    numbers = reason.map(lambda r: tuple(float(c or v) for c, v in _NUMBER.findall(r)))
    rows = [
        (stage, _ranged(text, np.array(list(part), dtype=float).reshape(len(part), -1)), len(part))
        for (stage, text), part in numbers.groupby([excluded.stage.astype(str), pattern], sort=False)
    ]
    out = pd.DataFrame(rows, columns=["stage", "reason", "events"])
    return out.sort_values(["events", "stage", "reason"], ascending=[False, True, True]).reset_index(drop=True)


def _ranged(pattern: str, numbers: np.ndarray) -> str:
    """``pattern`` with each of its marks replaced by the range of its number over the events
    (``numbers``: events × marks): "45", or "45–52" when they differ (values to 3 digits)."""
    pieces = re.split(f"([{COUNT}{VALUE}])", pattern)
    said = []
    for (lo, hi), mark in zip(zip(numbers.min(axis=0), numbers.max(axis=0), strict=True), pieces[1::2], strict=True):
        shown = [f"{x:.0f}" if mark == COUNT or x.is_integer() else f"{x:.3g}" for x in (lo, hi)]
        said.append(shown[0] if shown[0] == shown[1] else "–".join(shown))
    return pieces[0] + "".join(n + piece for n, piece in zip(said, pieces[2::2], strict=True))


@dataclass(frozen=True)
class CarTable:
    """The tidy CAR frame (``event_id``, ``ticker``, ``window`` and number columns) as arrays: its
    events in the order they first appear with each one's ticker, its windows in order, each
    asked column as events × windows (NaN where an event has no row in a window), and each
    group's events (their rows here, in the group's order; an event without a CAR left out).
    Made once per result, it serves the influence table and the intervals alike."""

    event_ids: pd.Index
    tickers: pd.api.extensions.ExtensionArray  # the ticker column's own kind of strings
    windows: pd.Index
    values: dict[str, np.ndarray]
    groups: dict[str, np.ndarray]

    @classmethod
    def of(cls, car: pd.DataFrame, columns: tuple[str, ...], groups: Mapping[str, tuple[str, ...]]) -> CarTable:
        codes, event_ids = pd.factorize(car.event_id, sort=False)
        window, windows = pd.factorize(car.window, sort=False)
        values = {}
        for name in columns:
            values[name] = np.full((len(event_ids), len(windows)), np.nan)
            values[name][codes, window] = car[name].to_numpy(dtype=float)
        # ids are numbered in the order they first appear: an id's first row is where the codes reach a new high
        first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
        tickers = car.ticker.array.take(first)
        rows = {}
        for group, ids in groups.items():
            at = event_ids.get_indexer(pd.Index(ids))
            rows[group] = at[at >= 0]
        return cls(event_ids, tickers, windows, values, rows)


class SummaryMixin:
    """``__str__`` and ``_repr_html_`` from ``summary()`` (a :class:`~eventstudy.core.summary.Summary`),
    as linearmodels' results do."""

    def summary(self) -> Summary:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


@dataclass(frozen=True, repr=False)
class EventStudyResult(SummaryMixin):
    """The estimates of one event study.

    Tidy frames (fixed columns):

    - ``events``: ``event_id, ticker, event_date, n_est, sigma`` and one column per parameter;
    - ``ar``: ``event_id, ticker, day, date, ar, se, sar, car`` over the path (``car`` cumulated
      from the path's first day);
    - ``car``: ``event_id, ticker, window, car, se, t, p, dof, n_est, n_missing, ci_lo, ci_hi`` (the 95 %
      interval of the CAR, t with dof);
    - ``tests``: ``group, window, test, stat, p, dist, n_firms, robust``;
    - ``caar``: ``group, day, aar, caar, se, lo, hi`` (se from the portfolio σ̂_p · √days; lo, hi the
      portfolio test's 95 % interval, t(L_p − 1));
    - ``intervals``: per group and window the CAAR's 95 % interval from the cross-sectional t and
      from Kolari–Pynnönen (:mod:`eventstudy.core.intervals`);
    - ``excluded``: ``event_id, ticker, stage, reason``;
    - ``influence``: every event's leave-one-out diagnostics per group and window, and whether it
      drives the group's estimate (:mod:`eventstudy.core.influence`).
    """

    model: Model
    estimation: Window
    windows: tuple[Window, ...]
    path: Window
    events: pd.DataFrame
    ar: pd.DataFrame
    car: pd.DataFrame
    tests: pd.DataFrame
    caar: pd.DataFrame
    excluded: pd.DataFrame
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    influence: pd.DataFrame = field(default_factory=pd.DataFrame)
    intervals: pd.DataFrame = field(default_factory=pd.DataFrame)
    engine: str = "memory"  # the engine that computed it: memory, stream or dask
    engine_reason: str = ""  # why, when the engine was chosen automatically (engine="auto")

    def __repr__(self) -> str:
        return (
            f"EventStudyResult(model={self.model.name!r}, firm_events={len(self.events)}, "
            f"excluded={len(self.excluded)}, groups={list(self.groups)})"
        )

    def test(self, group: str, window: str, test: str) -> pd.Series:
        t = self.tests
        row = t[(t.group == group) & (t.window == window) & (t.test == test)]
        if row.empty:
            raise KeyError(f"no {test!r} result for group {group!r}, window {window!r}")
        return row.iloc[0]

    def car_of(self, window: str) -> pd.DataFrame:
        return self.car[self.car.window == window].set_index("ticker")

    def summary(self, window: str | None = None) -> Summary:
        """The CARs of ``window`` (the first by default; of a sample of more than
        :data:`SUMMARY_ROWS` events, the largest and smallest), the group tests, the exclusions
        (by reason, when there are many): a :class:`~eventstudy.core.summary.Summary` (``print`` it, or
        ``.as_html()``, ``.as_latex()``)."""
        window = window or self.windows[0].label
        cars = self.car_of(window).reset_index()
        cars["sig"] = [stars(p) for p in cars.p]
        label = ["event_id"] if (cars.event_id != cars.ticker).any() else []
        title = f"CAR {window} by firm-event (t with L − K d.o.f.; 95 % interval)"
        if len(cars) > SUMMARY_ROWS:
            k = SUMMARY_ROWS // 3
            ranked = cars.dropna(subset=["car"]).sort_values(["car", "event_id"], ascending=[False, True])
            cars = pd.concat([ranked.head(k), ranked.tail(k)]).drop_duplicates("event_id")
            title += f": the {k} largest and {k} smallest of {len(ranked)} (all in .car)"
        tests = self.tests[self.tests.window == window].copy()
        tests["sig"] = [stars(p) for p in tests.p]
        parts: list[str | Table] = [
            f"estimation {self.estimation.start}..{self.estimation.end} sessions; "
            f"{len(self.events)} firm-events fitted, {self.excluded.event_id.nunique()} with exclusions "
            f"({self.engine} engine{'; ' + self.engine_reason if self.engine_reason else ''})",
            Table(
                cars[[*label, "ticker", "car", "se", "t", "p", "sig", "ci_lo", "ci_hi"]],
                {"car": ".4f", "se": ".4f", "t": ".2f", "p": ".4f", "ci_lo": ".4f", "ci_hi": ".4f"},
                title,
            ),
            Table(
                tests[["group", "test", "stat", "p", "dist", "n_firms", "robust", "sig"]],
                {"stat": ".3f", "p": ".4f"},
                f"Group tests, {window} (robust = holds its size here under cross-correlation and event-induced "
                "variance)",
            ),
        ]
        ex = self.excluded
        if len(ex) > SUMMARY_ROWS:
            parts.append(Table(excluded_by_reason(ex), {}, f"Excluded, by reason (all {len(ex)} in .excluded)"))
        elif len(ex):
            parts.append(Table(ex, {}, "Excluded"))
        return Summary(f"Event study: {self.model.description}", tuple(parts))


def lead_tests_of(main: EventStudyResult) -> pd.DataFrame:
    return wide_tests(main.tests, main.tests.robust, main.intervals)


def wide_tests(tests: pd.DataFrame, rows: pd.Series, intervals: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per group and window of the tests ``rows`` marks (e.g. ``tests.robust``): the
    CAAR, the number of firms and a ``p_<test>`` column per test, in the order of ``tests``;
    with ``intervals`` (:mod:`eventstudy.core.intervals`), a ``ci_<test>`` column ("[lo, hi]" in
    percent) after the p of each test that has one: the interval that inverts that test."""
    t = tests[rows.to_numpy(dtype=bool)]
    out = t.drop_duplicates(["group", "window"]).set_index(["group", "window"])[["caar", "n_firms"]]
    keys = list(out.index)
    p = {(g, w, n): v for g, w, n, v in zip(t.group, t.window, t.test, t.p, strict=True)}  # one row each
    shown = set(intervals.test) if intervals is not None else set()
    for name in dict.fromkeys(t.test):
        out[f"p_{name}"] = np.array([p.get((g, w, name), np.nan) for g, w in keys], dtype="float64")
        if name in shown:
            iv = intervals[intervals.test == name]
            text = {
                (g, w): interval_text(lo, hi, note)
                for g, w, lo, hi, note in zip(iv.group, iv.window, iv.lo, iv.hi, iv.note, strict=True)
            }
            out[f"ci_{name}"] = pd.Series([text.get(k, np.nan) for k in keys], index=out.index)
    return out.reset_index()


def interval_text(lo: float, hi: float, note: str = "") -> str:
    """An interval in percent for a table: "[-1.23, +0.45] %", "unbounded" or "–"."""
    if note == "unbounded":
        return "unbounded"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "–"
    return f"[{100 * lo:+.2f}, {100 * hi:+.2f}] %"
