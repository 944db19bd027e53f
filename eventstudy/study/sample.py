"""A sample of firm-events on their own dates, end to end: events file → day 0 of each event →
prices → returns → the core (estimation windows without the firm's other events, the tests
of overlapping events) → second stage → results. The sibling of :mod:`.pipeline`, which runs a
study of one event date.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..core import calendar
from ..core.engine import Design
from ..core.models import get_model, with_shifted_market
from ..core.returns import factor_regressors, session_returns, through_data_end
from ..core.runspec import AUTO, Engine
from ..core.tables import count_of
from ..core.volatility import abnormal_volatility
from ..core.windows import DEFAULT_ESTIMATION, DEFAULT_PATH, Window, as_window
from ..data import load_market_data, quality
from ..data.loader import MarketData, PriceData
from ..data.snapshot import Snapshot, default_snapshot
from ..errors import NoFirmsLeftError, StudyFileError
from . import marketvalue, owndata, volume
from .events import EventTable, build_events, named_columns
from .horizons import run_long
from .results import SampleResults
from .secondstage import second_stage
from .spec import Study
from .trading import model_returns
from .universe import primary_listing

EVENT_COLUMNS = ["event_id", "ticker", "event_date"]
# what the first stage adds to the characteristics of each event
FIT_TERMS = {"beta": "beta", "sigma": "volatility"}
SIZE_TERM = "log_market_value"  # study.DERIVED_CHARACTERISTICS


@dataclass(frozen=True)
class Panel:
    """What the core needs for a set of firm-events: ``returns`` (sessions × tickers),
    ``regressors`` (sessions × the model's columns: ``mkt`` and, for factor models, the
    Fama–French factors in decimals), each ticker's return ``basis``, and the loaded
    market ``data`` (the prices: frames, origin, failures with their reasons, notes; the
    snapshot's share counts and company table)."""

    returns: pd.DataFrame
    regressors: pd.DataFrame
    basis: pd.Series
    data: MarketData
    values: pd.DataFrame | None = None  # a study's own data: sessions × firms of market values (its currency)

    @property
    def prices(self) -> PriceData:
        return self.data.prices

    def pre_event_values(self, events: pd.DataFrame) -> pd.DataFrame:
        """Each event's market value at the close before day 0 (bn of the prices' currency) and the kind of share
        count it used (:func:`eventstudy.study.marketvalue.pre_event_values`)."""
        if self.values is not None:
            return owndata.pre_event_values(events, self.values)
        d = self.data
        closes = d.prices.panel("close").reindex(self.returns.index)
        primary_of = primary_listing(d.companies, d.shares)
        out = marketvalue.pre_event_values(
            events, closes, d.prices.panel("splits"), d.shares, d.implied_shares, primary_of
        )
        return out.assign(market_value=out.market_value / 1e9).rename(columns={"market_value": "market_value_bn"})


def load_panel(
    events: pd.DataFrame,
    *,
    estimation: Window | tuple[int, int] = DEFAULT_ESTIMATION,
    path: Window | tuple[int, int] = DEFAULT_PATH,
    benchmark: str = "SPY",
    model: str = "market",
    returns: str = "total",
    extra: Sequence[str] = (),
    **load_kwargs,
) -> Panel:
    """Returns and regressors for ``events`` (``ticker, event_date``; as :func:`build_events`
    makes them) over every session their estimation windows and paths reach, from the
    snapshot, the cache or yfinance (``load_kwargs`` as :func:`eventstudy.data.load_prices`:
    ``offline``, ``refresh``, ``cache``, ``source``). A ticker that cannot be had is in
    ``prices.failed`` with its reason; a benchmark without data is an error."""
    estimation, path = as_window(estimation), as_window(path)
    days = calendar.as_dates(events.event_date, "the event dates (event_date)")
    start = calendar.session_offset(days.min(), estimation.start - 1)
    end = calendar.session_offset(days.max(), path.end)
    firms = list(dict.fromkeys(events.ticker))
    shares = (load_kwargs.get("snapshot") or default_snapshot()).table("shares_outstanding")
    classes = marketvalue.class_tickers(shares, firms)  # their closes value the firms' other classes
    data = load_market_data([*firms, *classes, benchmark, *extra], start, end, **load_kwargs)
    rets, basis = session_returns(data.prices.frames, start, end, returns)
    rets = model_returns(model, rets, data.prices.frames, firms)
    if benchmark not in rets or rets[benchmark].isna().all():
        why = data.prices.failed.get(benchmark, "no returns in the span")
        raise NoFirmsLeftError({benchmark: why}, "the benchmark has no data")
    spec = get_model(model)
    regressors = with_shifted_market(rets[benchmark].rename("mkt").to_frame(), spec)
    if spec.excess:
        regressors = regressors.join(factor_regressors(data.factors, spec.columns), how="left")
    return Panel(rets, regressors, basis, data)


def study_panel(study: Study, events: pd.DataFrame, **load_kwargs) -> Panel:
    """:func:`load_panel` for a study's events with its estimation window, windows, benchmark,
    model and kind of returns; from its own files when it has ``[data]`` (``events`` labelled by
    :func:`~eventstudy.study.owndata.sample_labels`)."""
    if study.own_data:
        return _own_panel(study, events)
    return load_panel(
        events,
        estimation=study.estimation,
        path=Window(0, study.reach),
        benchmark=study.benchmarks[study.benchmark].ticker,
        model=study.model,
        returns=study.returns,
        extra=_volume_members(study, load_kwargs.get("snapshot")),
        **load_kwargs,
    )


def _volume_members(study: Study, snapshot: Snapshot | None) -> list[str]:
    """Every stock of the snapshot when the study measures abnormal volume (the market's log
    turnover is their mean), else none."""
    if study.volume is None:
        return []
    companies = (snapshot or default_snapshot()).table("companies")
    return sorted(companies.ticker[companies.asset_type == "stock"])


def _own_panel(study: Study, events: pd.DataFrame) -> Panel:
    """The panel of a sample on its own files: the firms' returns, the benchmark of the market
    file (checked on every session a firm has a return), factors, market values."""
    ex = study.exchange
    far = study.reach
    start = calendar.session_offset(events.event_date.min(), study.estimation.start - 1, ex, clip=True)
    end = calendar.session_offset(events.event_date.max(), far, ex, clip=True)
    events, firms = owndata.sample_labels(study, events)
    files, data, returns = owndata.read_study_files(study, firms, start, end, all_stocks=study.volume is not None)
    returns = model_returns(study.model, returns, data.prices.frames, list(firms.ids))
    bench = study.benchmarks[study.benchmark].ticker
    owndata.check_market(study, files, returns, [t for t in firms.ids if t in returns])
    spec = get_model(study.model)
    regressors = with_shifted_market(returns[bench].rename("mkt").to_frame(), spec)
    if spec.excess:
        regressors = regressors.join(factor_regressors(data.factors, spec.columns), how="left")
    stocks = [t for t in data.companies.ticker if t in returns]
    values, _ = owndata.market_values(files, firms, stocks, returns.index[0])
    return Panel(returns, regressors, owndata.basis_of(files, data, firms), data, values)


def sample_design(study: Study, panel: Panel, events: pd.DataFrame, engine: Engine = AUTO) -> Design:
    """The study's design for ``events`` (the events file's rows, for their groups) on
    ``panel``, run by ``engine``."""
    return Design(
        through_data_end(panel.returns[sorted(set(events.ticker))]),
        panel.regressors,
        sample_groups(study, events),
        study.model,
        study.estimation,
        study.windows,
        study.path,
        study.min_estimation_obs,
        study.exclude_other_events,
        engine,
    )


def read_events(study: Study, snapshot: Snapshot | None = None) -> EventTable:
    """The study's events file, each event's day 0 set by :func:`~eventstudy.study.events.build_events`,
    with the firms as the one-date studies take them: an ETF or an index is no firm (its row is
    rejected), and an issuer counts once (GOOG is measured as GOOGL, by the snapshot's company
    list); a file that cannot be read or used is a study-file error naming ``events.file``."""
    file = study.events.file
    if study.own_data:  # no company list: every row names a firm, as itself
        try:
            built = build_events(
                _table(study),
                exchange=study.exchange,
                date_format=study.events.date_format,
                fold_case=study.data.names is not None,  # a names file's tickers; else identifiers as written
            )
        except (OSError, ValueError) as exc:
            raise StudyFileError(study.path_file, "events.file", f"{file.name}: {exc}") from None
        events, _ = owndata.sample_labels(study, built.events)
        return replace(built, events=events)
    snap = snapshot or default_snapshot()
    companies = snap.table("companies")
    etfs = dict.fromkeys(companies.ticker[companies.asset_type == "etf"], "an ETF, never a firm")
    issuer = primary_listing(companies, snap.table("shares_outstanding"))
    try:
        return build_events(
            _table(study), issuer=issuer, not_firms=etfs, date_format=study.events.date_format, fold_case=True
        )
    except (OSError, ValueError) as exc:
        raise StudyFileError(study.path_file, "events.file", f"{file.name}: {exc}") from None


def _table(study: Study) -> pd.DataFrame:
    """The events file with its columns named as eventstudy reads them (``[events.columns]``), the
    firms' identifiers read as text (a PERMNO or a CUSIP with leading zeros stays as written)."""
    file = study.events.file
    renames = named_columns(pd.read_csv(file, nrows=0).columns, study.events.columns)
    ticker = next((column for column, role in renames.items() if role == "ticker"), "ticker")
    try:
        return pd.read_csv(file, dtype={ticker: "string"}).rename(columns=renames)
    except UnicodeDecodeError as exc:  # a spreadsheet's export in the machine's code page
        raise ValueError(
            f"it is not UTF-8 text (it holds the byte {exc.object[exc.start]:#04x}, as a Windows code page writes an "
            "accented letter): save it as UTF-8 (a spreadsheet's 'CSV UTF-8')"
        ) from None


def sample_groups(study: Study, events: pd.DataFrame) -> dict[str, list[str]]:
    """``all``, one group per value of each ``group_by`` column (``column=value``), and each
    ``[groups]`` list of tickers as the events of those tickers."""
    groups = {}
    for column in study.events.group_by:
        for value, part in events.groupby(column, sort=True, dropna=True):
            groups[f"{column}={value}"] = list(part.event_id)
    for name, spec in study.groups.items():
        groups[name] = list(events.event_id[events.ticker.isin(spec.tickers)])
    # "all" first, then one order whatever the study file's
    return {"all": list(events.event_id), **dict(sorted(groups.items()))}


def run_sample(
    study: Study,
    *,
    offline: bool = True,
    refresh: bool = False,
    snapshot: Snapshot | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    engine: Engine = AUTO,
    ready: Callable[[SampleResults], None] | None = None,
    **load_kwargs,
) -> SampleResults:
    """Run a study whose ``[events]`` table lists firm-events on their own dates, its core on
    ``engine`` (chosen by the size of the run by default; see :class:`~eventstudy.core.runspec.Engine`);
    ``ready`` is given the results before the designs that follow the main one (as in
    :func:`~eventstudy.study.pipeline.run_study`)."""
    table = read_events(study, snapshot)
    events, rejected = table.events, table.rejected
    if events.empty:
        raise NoFirmsLeftError(dict(zip(rejected.event_id.astype(str), rejected.reason, strict=True)), "events file")
    bench = study.benchmarks[study.benchmark].ticker
    panel = study_panel(
        study,
        events,
        offline=offline,
        refresh=refresh,
        progress=progress,
        **({"snapshot": snapshot} if snapshot is not None else {}),
        **load_kwargs,
    )
    data, returns = panel.prices, panel.returns
    values = panel.pre_event_values(events).set_index("event_id")
    events = events.assign(**{c: events.event_id.map(values[c]) for c in values})
    firms = [t for t in dict.fromkeys(events.ticker) if t in returns and t != bench]
    idle = get_model(study.model).thin_trading
    flags = quality.price_flags({t: data.frames[t] for t in firms}, returns.index, study.quality.no_trading_days, idle)
    screened = quality.excluded_by(flags, study.quality)
    by_firm = flags.groupby("ticker").detail.agg("; ".join).to_dict() if len(flags) else {}
    events = events.assign(quality=[by_firm.get(t, "") for t in events.ticker])  # the firm's flags beside its events
    early = _early_exclusions(events, data.failed, screened, bench)
    kept = events[~events.event_id.isin(early.event_id)]
    if kept.empty:
        raise NoFirmsLeftError(dict(zip(early.event_id.astype(str), early.reason, strict=True)))
    main = sample_design(study, panel, kept, engine).run(kept[EVENT_COLUMNS])
    if main.events.empty:
        fit_failed = dict(zip(main.excluded.event_id.astype(str), main.excluded.reason, strict=True))
        raise NoFirmsLeftError({**dict(zip(early.event_id.astype(str), early.reason, strict=True)), **fit_failed})
    excluded = pd.concat([early, main.excluded], ignore_index=True)
    fitted = kept[kept.event_id.isin(main.events.event_id)]
    sized = SIZE_TERM in study.events.characteristics
    fitted_events = events[events.event_id.isin(main.events.event_id)]
    notes = (*(_value_notes(fitted_events) if sized else ()), *dict.fromkeys(data.notes))
    rolled = int((kept.note != "").sum())
    if rolled:
        notes = (
            f"{count_of(rolled, 'event')} with day 0 on a later session than the date given (see events.csv: note)",
            *notes,
        )
    res = SampleResults(
        study=study,
        events=events,
        rejected=rejected,
        main=main,
        second_stage=_second_stages(study, main, events),
        excluded=excluded,
        provenance=owndata.provenance(panel.data, panel.basis)
        if panel.data.files is not None
        else pd.DataFrame({"ticker": list(data.origin), "origin": list(data.origin.values())}).merge(
            panel.basis.rename_axis("ticker").reset_index(), how="left"
        ),
        flags=flags,
        notes=notes,
    )
    if ready is not None:
        ready(res)
    abnormal_volume = _sample_volume(study, panel, fitted, engine)
    return replace(
        res,
        volume=abnormal_volume,
        notes=(*notes, *volume.unmeasured(abnormal_volume)),
        volatility=abnormal_volatility(main, study.path) if study.volatility else None,
        long=_sample_long(study, panel, fitted),
    )


def _sample_volume(study: Study, panel: Panel, fitted: pd.DataFrame, engine: Engine):
    """The abnormal-volume study of the fitted firm-events (``[volume]``), or None. Share counts
    as of the last event date (a constant count cancels out of AV but for the constant c)."""
    if study.volume is None:
        return None
    v, why = volume.turnover(panel.prices.frames, _values(panel, fitted), panel.returns.index)
    groups = sample_groups(study, fitted)
    design = dict(
        estimation=study.estimation,
        windows=study.windows,
        path=study.path,
        min_estimation_obs=study.min_estimation_obs,
        exclude_other_events=study.exclude_other_events,
    )
    return volume.run_volume(study.volume, v, fitted[EVENT_COLUMNS], groups, design, engine, why)


def _values(panel: Panel, fitted: pd.DataFrame) -> pd.DataFrame:
    """Sessions × stocks of market values: a study's own files', or the snapshot's share counts as
    of the last event date times the closes."""
    if panel.values is not None:
        return panel.values
    d = panel.data
    firms = list(dict.fromkeys(fitted.ticker))
    primary_of = primary_listing(d.companies, d.shares)
    return marketvalue.stock_values(d, panel.returns, primary_of, d.companies, firms, fitted.event_date.max())[0]


def _sample_long(study: Study, panel: Panel, fitted: pd.DataFrame):
    """BHARs of the fitted firm-events against the benchmark, and the calendar-time alphas
    (``[long]``), or None."""
    if study.long is None:
        return None
    groups = sample_groups(study, fitted)
    values = _values(panel, fitted) if study.long.calendar_time else None
    mkt = panel.regressors["mkt"]
    return run_long(
        study.long, study.long.reference, panel.returns, mkt, fitted[EVENT_COLUMNS], groups, panel.data.factors, values
    )


def _early_exclusions(events: pd.DataFrame, failed, screened, bench: str) -> pd.DataFrame:
    """Events left out before the fit: the firm is the benchmark, its prices could not be had,
    or it has a data-quality flag the study excludes."""

    def why(ticker: str) -> tuple[str, str] | None:
        if ticker == bench:
            return "benchmark", "the firm is the study's benchmark"
        if ticker in failed:
            return "data", failed[ticker]
        if ticker in screened:
            return "quality", screened[ticker]
        return None

    rows = [(e, t, *r) for e, t in zip(events.event_id, events.ticker, strict=True) if (r := why(t))]
    return pd.DataFrame(rows, columns=["event_id", "ticker", "stage", "reason"])


def _value_notes(fitted: pd.DataFrame) -> list[str]:
    """What the second stage's size term rests on: events without a pre-event market value,
    and events valued with the flagged fallback share count."""
    out = []
    missing = fitted[fitted.market_value_bn.isna()]
    if len(missing):
        no_count = missing.shares_flag == marketvalue.NO_COUNT
        why = [
            w for w, n in ((marketvalue.NO_COUNT, no_count.sum()), ("no close before day 0", (~no_count).sum())) if n
        ]
        out.append(
            f"{len(missing)} of {len(fitted)} fitted events have no pre-event market value ({', '.join(why)}): "
            "the second stage leaves them out"
        )
    implied = int((fitted.shares_flag == "implied, 2026").sum())
    if implied:
        out.append(f"{implied} events are valued with the implied 2026 share count (a flagged fallback)")
    return out


def _second_stages(study: Study, main, events: pd.DataFrame) -> dict:
    """Per window, the CARs on the study's characteristics (columns of the events file, or
    ``log_market_value``: ln of the pre-event market value in bn of the prices' currency) and the first stage's
    beta and volatility (σ̂ of the estimation residuals)."""
    fitted = main.events.set_index("event_id")
    table = events.set_index("event_id")
    derived = {SIZE_TERM: lambda: np.log(table.market_value_bn.where(table.market_value_bn > 0))}
    chars = pd.DataFrame(
        {c: derived[c]() if c in derived else table[c] for c in study.events.characteristics}, index=table.index
    )
    extra = {new: fitted[old] for old, new in FIT_TERMS.items() if old in fitted}
    regressors = pd.DataFrame(extra, index=fitted.index).join(chars, how="left")
    terms = [*study.events.characteristics, *extra]
    dates = fitted.event_date
    out = {}
    for w in main.windows:
        car = main.car[main.car.window == w.label].set_index("event_id").car
        out[w.label] = second_stage(car, regressors, dates, w.label, terms)
    return out
