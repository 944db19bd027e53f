"""The results of a study run from its file: one event date (:class:`StudyResults`) or a sample
of firm-events on their own dates (:class:`SampleResults`), the study's frames beside the core's
:class:`~eventstudy.core.results.EventStudyResult`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..core.longrun import LongRun
from ..core.results import EventStudyResult, SummaryMixin, lead_tests_of
from ..core.summary import Summary, Table
from ..core.tables import count_of, given, stars
from ..core.volatility import Volatility
from ..core.windows import DAY0
from ..data.quality import COLUMNS as FLAG_COLUMNS
from ..errors import first_few
from .dollars import TOTALS_COLUMNS, UNVALUED

FOCUS_LIMIT = 40  # firms of groups up to this size are listed firm by firm (a top-200 list is summarised)


class _Modelled(SummaryMixin):
    """A study's results (one date or a sample): what their model was fitted on, and the designs
    beside the returns (``volume``, ``volatility``, ``long``; None when the study has none)."""

    def model_text(self) -> str:
        """The model and what it is fitted on: the benchmark, or the factor regressors."""
        model = self.main.model
        if model.uses_benchmark:
            basis = f"benchmark `{self.study.benchmark}`"
        elif model.excess:
            basis = f"regressors {', '.join(model.columns)} (Fama–French daily factors), returns in excess of rf"
        else:
            basis = "no regressors"
        return f"{model.description}; {basis}"

    def design_parts(self, window: str = "") -> list[str | Table]:
        """The summary's tables of the designs beside the returns the study has: abnormal volume's
        group CAV and robust tests and abnormal volatility's tests (in ``window`` only, when given,
        as the returns' table of one date), the long horizons' tests (every number and left-out
        event in the report)."""
        parts: list[str | Table] = []
        only = f" {window} (every window in the report)" if window else " by window"
        if self.volume is not None and not len(self.volume.events):
            parts.append("\nAbnormal volume: no firm-event could be measured (see the report)")
        elif self.volume is not None:
            lead = _in(lead_tests_of(self.volume).rename(columns={"caar": "cav"}), window)
            lead = lead[[c for c in lead.columns if not c.startswith("ci_")]]  # intervals in percent: returns only
            formats = {"cav": "+.3f", **{c: ".4f" for c in lead.columns if c.startswith("p_")}}
            parts.append(Table(lead, formats, f"Abnormal volume: mean CAV (log turnover, log points){only}"))
        if self.volatility is not None:
            vol = _in(self.volatility.tests[["group", "window", "test", "mean_u", "stat", "p", "n_firms"]], window)
            formats = {"mean_u": ".3f", "stat": ".3f", "p": ".4f"}
            parts.append(Table(vol, formats, f"Abnormal volatility, U* (1: as usual){only}"))
        if self.long is not None:
            long = self.long.tests[["group", "window", "test", "estimate", "stat", "p", "n"]]
            parts.append(Table(long, {"estimate": "+.2%", "stat": ".3f", "p": ".4f"}, "Long horizons"))
            short = (self.long.bhar.short != "").sum()
            if short:
                parts.append(
                    f"{short} of {count_of(len(self.long.bhar), 'window')} shorter than asked, or without a BHAR "
                    "(see the report)"
                )
        return parts


def _in(table: pd.DataFrame, window: str) -> pd.DataFrame:
    """The rows of ``window`` without the column (all rows when no window is given)."""
    return table[table.window == window].drop(columns="window") if window else table


@dataclass(frozen=True, repr=False)
class StudyResults(_Modelled):
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
    - ``flags``: data-quality flags of the firms' prices (:mod:`eventstudy.data.quality`).
    - ``placebo``: the design on dates without the event (:mod:`eventstudy.study.placebo`), or None.
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
    placebo: object | None = None  # eventstudy.study.placebo.PlaceboResults, when run or kept from an earlier run
    volume: EventStudyResult | None = None  # abnormal trading volume ([volume]): the core run on log turnover
    volatility: Volatility | None = None  # abnormal volatility ([volatility])
    long: LongRun | None = None  # long horizons ([long]): BHARs and calendar-time alphas

    def __repr__(self) -> str:
        return f"StudyResults({self.study.name!r}, firms={len(self.main.events)}, claims={len(self.claims)})"

    @property
    def valued(self) -> bool:
        """Whether some firm has a market value before day 0 (a returns file without prices and
        shares gives none: then nothing is in money)."""
        return bool(self.day0.mv_prev.notna().any())

    def focus_firms(self, limit: int = FOCUS_LIMIT) -> tuple[str, ...]:
        """The firms of the study's groups of at most ``limit`` firms (a table-wide group such as
        a top-200 list is summarised, not listed firm by firm)."""
        small = [g for g in self.groups.values() if len(g) <= limit]
        return tuple(dict.fromkeys(f for g in small for f in g if f in self.day0.index))

    def lead_tests(self) -> pd.DataFrame:
        """One row per group and window: the CAAR, the number of firms and the p-value of each
        test that holds its size under cross-correlation (groups and windows in the study's order)."""
        return lead_tests_of(self.main)

    def _return_basis(self) -> str:
        """What a day's return is, in a few words."""
        if self.study.own_data:
            return "the returns file's"
        return "close to close incl. dividends" if self.study.returns == "total" else "close to close, no dividends"

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
                given(day0[["firm", "ret", "low_ret", "ar", "t", "sig"]].assign(mv_change_bn=day0.mv_change / 1e9)),
                {"ret": "+.2%", "low_ret": "+.2%", "ar": "+.2%", "t": ".2f", "mv_change_bn": ",.1f"},
                f"Day 0 by firm (ret = {self._return_basis()}; AR vs the model)",
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
                f"Market-value change {w0} by universe ({self.study.currency} bn)",
            )
            if self.valued
            else f"\n{UNVALUED}",
        ]
        parts += self.design_parts(w0)
        if len(self.flags):
            parts += [
                "\nData-quality flags (see the report)",
                *(f"{f.ticker}: {f.detail}" for f in self.flags.itertuples()),
            ]
        if len(self.excluded):
            parts += ["\n" + _left_out(self.excluded)]
        label = f" ({self.study.label})" if self.study.label else ""
        title = f"{self.study.title} — event {self.event.date:%Y-%m-%d}{label}"
        return Summary(title, tuple(parts))


def outright(excluded: pd.DataFrame, key: str = "event_id") -> list:
    """The firms (``key`` "ticker") or firm-events ("event_id") excluded before any window: not
    those only without a CAR in some window."""
    return list(excluded[key][~excluded.stage.astype(str).str.startswith("window")].unique())


def _left_out(excluded: pd.DataFrame, unit: str = "firm", rejected: int = 0) -> str:
    """The summary's line on what was left out: the ``rejected`` rows of an events file, the
    firms (``unit`` "firm", by ticker) or firm-events ("event", by event id) excluded, and those
    without a CAR in some window."""
    key = "ticker" if unit == "firm" else "event_id"
    out = outright(excluded, key)
    short = excluded[excluded.stage.astype(str).str.startswith("window")]
    said = [f"rejected: {count_of(rejected, 'row')} of the events file"] if rejected else []
    if out:
        said.append(f"excluded: {count_of(len(out), unit)} ({first_few(out, 5)})")
    if len(short):
        windows = ", ".join(w.removeprefix("window ") for w in short.stage.astype(str).unique())
        said.append(f"without a CAR in {windows}: {count_of(short[key].nunique(), unit)}")
    line = "; ".join(said)
    return line[:1].upper() + line[1:] + " (see the report)"


@dataclass(frozen=True, repr=False)
class SampleResults(_Modelled):
    """A sample of firm-events on their own dates, run end to end.

    - ``events``: every firm-event kept, with its day 0, the date given, ``time`` and ``note``
      (how day 0 was set) and the columns of the events file.
    - ``rejected``: rows of the events file that could not be used (``row, event_id, ticker,
      reason``); ``excluded``: events left out later (``event_id, ticker, stage, reason``).
    - ``main``: the :class:`EventStudyResult`; ``second_stage``: window label → the regression
      of the CARs on the characteristics (:mod:`eventstudy.study.secondstage`).
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
    placebo: object | None = None  # eventstudy.study.placebo.PlaceboResults, when run or kept from an earlier run
    volume: EventStudyResult | None = None  # abnormal trading volume ([volume]): the core run on log turnover
    volatility: Volatility | None = None  # abnormal volatility ([volatility])
    long: LongRun | None = None  # long horizons ([long]): BHARs and calendar-time alphas

    def __repr__(self) -> str:
        return (
            f"SampleResults({self.study.name!r}, firm_events={len(self.main.events)}, groups={list(self.main.groups)})"
        )

    def lead_tests(self) -> pd.DataFrame:
        """One row per group and window: the CAAR, the number of events and the p-value of each
        robust test (groups and windows in the study's order)."""
        return lead_tests_of(self.main)

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
            f"model: {self.model_text()}; {self.study.returns} returns",
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
        parts += self.design_parts()
        if len(self.flags):
            parts += [f"\nData-quality flags: {len(self.flags)} (see the report)"]
        if len(self.rejected) or len(self.excluded):
            parts += ["\n" + _left_out(self.excluded, "event", len(self.rejected))]
        title = (
            f"{self.study.title} — {count_of(n, 'firm-event')} on {count_of(dates, 'date')}, "
            f"{count_of(main.events.ticker.nunique(), 'firm')}"
        )
        return Summary(title, tuple(parts))
