"""Immutable result objects: tidy frames inside, ``summary()`` for people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..dollars import TOTALS_COLUMNS
from ..quality import COLUMNS as FLAG_COLUMNS
from .inference import portfolio_sigma
from .models import Model
from .summary import Summary, Table
from .tables import stars
from .windows import DAY0, Window

SUMMARY_ROWS = 30  # a summary lists at most this many firm-events or exclusions
FOCUS_LIMIT = 40  # firms of groups up to this size are listed firm by firm (a top-200 list is summarised)


def caar_frame(group: str, grid, aar, est_days, inside, level: float = 0.95) -> pd.DataFrame:
    """``group, day, aar, caar, se, lo, hi`` over the days ``inside`` (the path) of a group's mean
    AR on every relative day of ``grid``; se is the portfolio σ̂_p (over ``est_days``) · √days,
    and lo, hi the portfolio test's interval at ``level``: CAAR ± t(L_p − 1) se."""
    sigma_p, l_p = portfolio_sigma(aar, est_days)
    days = np.arange(1, inside.sum() + 1)
    caar, se = np.cumsum(aar[inside]), sigma_p * np.sqrt(days)
    half = stats.t.ppf(0.5 + level / 2, l_p - 1) * se if l_p > 1 else np.full(len(se), np.nan)
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


def excluded_by_reason(excluded: pd.DataFrame) -> pd.DataFrame:
    """``stage, reason, events``: exclusions counted by reason, the most frequent first (a
    count in a reason, as in "45 valid returns (3 left out ...)", reads "N valid returns (N left
    out ...)"; dates, window bounds and what is needed are kept)."""
    reason = excluded.reason.astype(str).str.replace(r"(?<![\d\-\[,])\d+ (?!are needed)", "N ", regex=True)
    counts = excluded.assign(reason=reason).groupby(["stage", "reason"]).size().rename("events").reset_index()
    return counts.sort_values(["events", "stage", "reason"], ascending=[False, True, True]).reset_index(drop=True)


class _SummaryStr:
    """``__str__`` and ``_repr_html_`` from ``summary()`` (a :class:`~eventstudy.core.summary.Summary`),
    as linearmodels' results do."""

    def summary(self) -> Summary:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


@dataclass(frozen=True, repr=False)
class EventStudyResult(_SummaryStr):
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
            f"({self.engine} engine)",
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


@dataclass(frozen=True, repr=False)
class StudyResults(_SummaryStr):
    """Everything a study run produced. Frames (tidy, fixed columns):

    - ``day0``: per firm, day-0 prices, returns, AR and market-value changes (USD);
    - ``effects``: ``firm, window, ret, car, mv_raw, mv_abnormal``;
    - ``totals``: per group and window, summed changes and share-count flags;
    - ``shares``: per firm, the share count used, its flag, classes and price basis;
    - ``claims``: ``id, article, says, computed, verdict, reason``;
    - ``indices``: day-0 moves of the benchmark and the reported indices;
    - ``excluded``: ``ticker, stage, reason`` for every ticker left out anywhere;
    - ``provenance``: per ticker where its prices came from and its return basis;
    - ``prices``: the firms' OHLC around the event (``ticker, date, day, open, high, low, close``);
    - ``fit_data``: ``ticker, date, day, ret, mkt`` over the estimation window and path;
    - ``constructed``: per constructed benchmark, how it was made (members per day, left out).
    - ``flags``: data-quality flags of the firms' prices (:mod:`eventstudy.quality`).
    - ``placebo``: the design on dates without the event (:mod:`eventstudy.placebo`), or None.
    """

    study: object
    event: object
    main: EventStudyResult
    sensitivity: Mapping[str, EventStudyResult]
    groups: Mapping[str, tuple[str, ...]]
    day0: pd.DataFrame
    effects: pd.DataFrame
    totals: pd.DataFrame
    shares: pd.DataFrame
    claims: pd.DataFrame
    indices: pd.DataFrame
    excluded: pd.DataFrame
    provenance: pd.DataFrame
    prices: pd.DataFrame
    fit_data: pd.DataFrame
    constructed: Mapping[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    focus: str = ""
    firms_share: float = float("nan")
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAG_COLUMNS))
    placebo: object | None = None  # eventstudy.placebo.PlaceboResults, when run or kept from an earlier run

    def __repr__(self) -> str:
        return f"StudyResults({self.study.name!r}, firms={len(self.main.events)}, claims={len(self.claims)})"

    def focus_firms(self, limit: int = FOCUS_LIMIT) -> tuple[str, ...]:
        """The firms of the study's groups of at most ``limit`` firms (a table-wide group such as
        a top-200 list is summarised, not listed firm by firm)."""
        small = [g for g in self.groups.values() if len(g) <= limit]
        return tuple(dict.fromkeys(f for g in small for f in g if f in self.day0.index))

    def model_text(self) -> str:
        """The model and what it is fitted on: the benchmark, or the factor regressors."""
        model = self.main.model
        if model.name in ("market", "market-adjusted"):
            basis = f"benchmark `{self.study.benchmark}`"
        elif model.excess:
            basis = f"regressors {', '.join(model.columns)} (Fama–French daily factors), returns in excess of rf"
        else:
            basis = "no regressors"
        return f"{model.description}; {basis}"

    def lead_tests(self) -> pd.DataFrame:
        """One row per group and window: the CAAR, the number of firms and the p-value of each
        test that holds its size under cross-correlation (groups and windows in the study's order)."""
        return _lead_tests(self.main)

    def summary(self) -> Summary:
        """The event, the day-0 moves, the claims' verdicts, the lead tests and the dollars: a
        :class:`~eventstudy.core.summary.Summary`."""
        w0 = DAY0.label
        day0 = self.day0.loc[list(self.focus_firms())].join(self.main.car_of(w0)[["t", "p"]])
        day0 = day0.rename_axis("firm").reset_index().sort_values(["ret", "firm"])
        day0["sig"] = [stars(p) for p in day0.p]
        lead = self.lead_tests()
        tot = self.totals[self.totals.window == w0]
        width = max((len(v) for v in self.claims.verdict), default=0)
        parts: list[str | Table] = [
            *(f"note: {n}" for n in self.notes),
            f"model: {self.model_text()}" + "".join(f"; {o}" for o in self.study.overrides),
            Table(self.indices, {"ret": "+.2%"}, "Day-0 moves of the benchmark and indices"),
            Table(
                day0[["firm", "ret", "low_ret", "ar", "t", "sig", "mv_change"]]
                .assign(mv_change=lambda f: f.mv_change / 1e9)
                .rename(columns={"mv_change": "mv_change_bn"}),
                {"ret": "+.2%", "low_ret": "+.2%", "ar": "+.2%", "t": ".2f", "mv_change_bn": ",.1f"},
                "Day 0 by firm (ret = close to close incl. dividends; AR vs the model)",
            ),
            "\nClaims (verdict, id: why)" if len(self.claims) else "\nClaims: none in the study file",
            *(f"  {c.verdict:>{width}s}  {c.id}: {c.reason}" for c in self.claims.itertuples()),
            Table(
                lead[lead.window == w0].drop(columns="window"),
                {"caar": "+.2%", **{c: ".4f" for c in lead.columns if c.startswith("p_")}},
                f"Group CAAR {w0}, with the tests robust to cross-correlation and event-induced variance (every "
                "window in the report)",
            ),
            Table(
                tot.assign(mv_raw=tot.mv_raw / 1e9, mv_abnormal=tot.mv_abnormal / 1e9)[["group", *TOTALS_COLUMNS]],
                {"mv_raw": ",.1f", "mv_abnormal": ",.1f"},
                f"Market-value change {w0} by universe (USD bn)",
            ),
        ]
        if len(self.flags):
            parts += [
                "\nData-quality flags (see the report)",
                *(f"{f.ticker}: {f.detail}" for f in self.flags.itertuples()),
            ]
        if len(self.excluded):
            parts += [f"\nExcluded or incomplete: {len(self.excluded)} (see the report)"]
        title = f"{self.study.title} — event {self.event.date:%Y-%m-%d} ({self.study.label})"
        return Summary(title, tuple(parts))


@dataclass(frozen=True, repr=False)
class SampleResults(_SummaryStr):
    """A sample of firm-events on their own dates, run end to end.

    - ``events``: every firm-event kept, with its day 0, the date given, ``time`` and ``note``
      (how day 0 was set) and the columns of the events file.
    - ``rejected``: rows of the events file that could not be used (``row, event_id, ticker,
      reason``); ``excluded``: events left out later (``event_id, ticker, stage, reason``).
    - ``main``: the :class:`EventStudyResult`; ``second_stage``: window label → the regression
      of the CARs on the characteristics (:mod:`eventstudy.secondstage`).
    """

    study: object
    events: pd.DataFrame
    rejected: pd.DataFrame
    main: EventStudyResult
    second_stage: Mapping[str, object]
    excluded: pd.DataFrame
    provenance: pd.DataFrame
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAG_COLUMNS))
    notes: tuple[str, ...] = ()
    placebo: object | None = None  # eventstudy.placebo.PlaceboResults, when run or kept from an earlier run

    def __repr__(self) -> str:
        return (
            f"SampleResults({self.study.name!r}, firm_events={len(self.main.events)}, groups={list(self.main.groups)})"
        )

    def lead_tests(self) -> pd.DataFrame:
        """One row per group and window: the CAAR, the number of events and the p-value of each
        robust test (groups and windows in the study's order)."""
        return _lead_tests(self.main)

    def extremes(self, window: str, k: int = 10) -> pd.DataFrame:
        """The ``k`` largest and ``k`` smallest CARs of ``window`` (the rest are in car.csv)."""
        car = self.main.car_of(window).dropna(subset=["car"]).reset_index()
        car = car.merge(self.main.events[["event_id", "event_date"]], on="event_id", how="left")
        ranked = car.sort_values(["car", "event_id"])
        return pd.concat([ranked.tail(k).iloc[::-1], ranked.head(k)]).drop_duplicates("event_id")

    def summary(self) -> Summary:
        """The sample, the lead tests by window and the second stage: a
        :class:`~eventstudy.core.summary.Summary`."""
        main = self.main
        n, dates = len(main.events), main.events.event_date.nunique()
        lead = self.lead_tests()
        parts: list[str | Table] = [
            *(f"note: {x}" for x in self.notes),
            f"model: {main.model.description}; benchmark `{self.study.benchmark}`; {self.study.returns} returns",
            Table(
                lead,
                {"caar": "+.3%", **{c: ".4f" for c in lead.columns if c.startswith("p_")}},
                "Group CAAR by window, with the p-values of the robust tests",
            ),
        ]
        for label, stage in self.second_stage.items():
            if len(stage.table):
                parts.append(
                    Table(
                        stage.table[["term", "coef", "se", "t", "p"]],
                        {"coef": ".4g", "se": ".4g", "t": ".2f", "p": ".4f"},
                        f"Second stage, CAR {label} ({stage.table['cov'].iloc[0]}; n = {stage.table['n'].iloc[0]})",
                    )
                )
        if len(self.flags):
            parts += [f"\nData-quality flags: {len(self.flags)} (see the report)"]
        if len(self.rejected) or len(self.excluded):
            parts += [
                f"\nRejected rows: {len(self.rejected)}; excluded events or windows: {len(self.excluded)} "
                "(see the report)"
            ]
        title = f"{self.study.title} — {n} firm-events on {dates} dates, {main.events.ticker.nunique()} firms"
        return Summary(title, tuple(parts))


def _lead_tests(main: EventStudyResult) -> pd.DataFrame:
    return wide_tests(main.tests, main.tests.robust, main.intervals)


def wide_tests(tests: pd.DataFrame, rows: pd.Series, intervals: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per group and window of the tests ``rows`` marks (e.g. ``tests.robust``): the
    CAAR, the number of firms and a ``p_<test>`` column per test, in the order of ``tests``;
    with ``intervals`` (:mod:`eventstudy.core.intervals`), a ``ci_<test>`` column ("[lo, hi]" in
    percent) after the p of each test that has one: the interval that inverts that test."""
    t = tests[rows.to_numpy(dtype=bool)]
    wide = t.pivot_table(index=["group", "window"], columns="test", values="p", sort=False, dropna=False)
    first = t.drop_duplicates(["group", "window"]).set_index(["group", "window"])[["caar", "n_firms"]]
    out = first
    for name in dict.fromkeys(t.test):
        out = out.join(wide[name].rename(f"p_{name}"))
        if intervals is not None and name in set(intervals.test):
            iv = intervals[intervals.test == name].set_index(["group", "window"])
            text = [interval_text(lo, hi, note) for lo, hi, note in zip(iv.lo, iv.hi, iv.note, strict=True)]
            out = out.join(pd.Series(text, index=iv.index, name=f"ci_{name}"))
    return out.reset_index()


def interval_text(lo: float, hi: float, note: str = "") -> str:
    """An interval in percent for a table: "[-1.23, +0.45] %", "unbounded" or "–"."""
    if note == "unbounded":
        return "unbounded"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "–"
    return f"[{100 * lo:+.2f}, {100 * hi:+.2f}] %"
