"""The one place that wires the stages: study → prices → returns → model → dollars → claims.

``run_study`` reads top to bottom like the data flow of the README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..core import calendar
from ..core.engine import Design, firm_events
from ..core.longrun import LongRun
from ..core.models import Model, get_model, with_shifted_market
from ..core.results import EventStudyResult
from ..core.returns import factor_regressors, session_returns, through_data_end
from ..core.runspec import AUTO, Engine
from ..core.volatility import Volatility, abnormal_volatility
from ..core.windows import DAY0, Window
from ..data import PriceCache, load_market_data, quality
from ..data.loader import MarketData
from ..data.snapshot import Snapshot, default_snapshot
from ..errors import NoFirmsLeftError, StudyFileError
from . import claims, dollars, marketvalue, owndata, volume
from .benchmarks import benchmark_returns
from .checks import check
from .figuredata import fit_data, ohlc
from .horizons import run_long
from .marketvalue import stock_values
from .results import StudyResults
from .spans import check_event_in_data, check_not_future, coverage_note
from .spec import Study
from .studyfile import load_study
from .trading import model_returns
from .universe import primary_listing, resolve_groups


def run_study(
    study: Study | str,
    *,
    offline: bool = True,
    refresh: bool = False,
    snapshot: Snapshot | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    engine: Engine = AUTO,
    ready: Callable[[StudyResults], None] | None = None,
    **load_kwargs,
) -> StudyResults:
    """Run a study end to end and return its results (nothing is written). A :class:`Study`
    built in Python is checked as a study file is, before any data is read. A study of
    firm-events on their own dates (``[events]``) runs through :func:`eventstudy.study.sample.run_sample`
    and returns :class:`~eventstudy.core.results.SampleResults`. ``engine`` runs the core (chosen by
    the size of the run by default; :class:`~eventstudy.core.runspec.Engine`). ``ready`` is given
    the results so far as the main estimation is assembled, before the designs that follow it
    (volume, volatility, long horizons): what is in them then does not change (the command line
    starts drawing their figures)."""
    if isinstance(study, Study):
        problems = check(study)
        if problems:
            raise StudyFileError(study.path_file, problems)
    else:
        study = load_study(study)
    if study.is_sample:
        from .sample import run_sample

        return run_sample(
            study,
            offline=offline,
            refresh=refresh,
            snapshot=snapshot,
            progress=progress,
            engine=engine,
            ready=ready,
            **load_kwargs,
        )
    p = prepare(study, offline=offline, refresh=refresh, snapshot=snapshot, progress=progress, **load_kwargs)
    model, runs = get_model(study.model), {}
    for name in dict.fromkeys((study.benchmark, *(study.sensitivity if model.uses_benchmark else ()))):
        market, regressors, info = p.regressors(name)
        runs[name] = (replace(p.design(regressors), engine=engine).at(p.event.date), (market, regressors), info)
    main = runs[study.benchmark][0]
    if main.events.empty:
        fit_failed = dict(zip(main.excluded.ticker, main.excluded.reason, strict=True))
        raise NoFirmsLeftError({**p.left_out, **p.data.prices.failed, **p.screened, **fit_failed}, p.span_note)
    notes = (p.event.note, p.span_note, *p.data.prices.notes, _unused_benchmark(study, model))
    res = _assemble(p, main, runs, notes)
    if ready is not None:
        ready(res)
    abnormal_volume = _volume(p, engine)
    res = replace(res, volume=abnormal_volume, notes=(*res.notes, *volume.unmeasured(abnormal_volume)))
    if study.volatility:
        res = replace(res, volatility=_volatility(res))
    return replace(res, long=_long(p)) if study.long is not None else res


def _long(p: Prepared) -> LongRun:
    """BHARs of the fitted firms against the study's reference, and the calendar-time alphas."""
    spec = p.study.long
    events = firm_events(p.fitted, p.event.date)
    reference = p.regressors(spec.reference)[0]
    return run_long(spec, spec.reference, p.returns, reference, events, p.fitted_groups, p.data.factors, p.mv)


def _volatility(res: StudyResults) -> Volatility:
    """The abnormal volatility of the fitted firms (``[volatility]``), with the estimation
    window's residuals (from the fit figure's data) for the portfolio form: every firm shares the
    date."""
    est, fit = res.study.estimation, res.fit_data
    inside = fit[(fit.day >= est.start) & (fit.day <= est.end)]
    residuals = pd.DataFrame({"event_id": inside.ticker, "day": inside.day, "resid": inside.ret - inside.expected})
    return abnormal_volatility(res.main, res.study.path, residuals.dropna())


def _volume(p: Prepared, engine: Engine) -> EventStudyResult | None:
    """The abnormal-volume study of the fitted firms (``[volume]``), or None."""
    s = p.study
    if s.volume is None:
        return None
    v, why = volume.turnover(p.data.prices.frames, p.mv, p.returns.index)
    design = dict(estimation=s.estimation, windows=run_windows(s), path=s.path, min_estimation_obs=s.min_estimation_obs)
    return volume.run_volume(s.volume, v, firm_events(p.fitted, p.event.date), p.fitted_groups, design, engine, why)


def _unused_benchmark(study: Study, model: Model) -> str:
    """Under a model without the benchmark, say so (and that its sensitivity is left out)."""
    if model.uses_benchmark:
        return ""
    what = "its market factor is mkt_rf of the Fama–French files" if model.excess else "it has no regressor"
    sens = f"; the benchmark sensitivity ({', '.join(study.sensitivity)}) is left out" if study.sensitivity else ""
    name = study.benchmark
    return f"the benchmark {name} does not enter the {model.name} model ({what}): it is shown for its move{sens}"


@dataclass(frozen=True)
class Prepared:
    """A one-date study's data, ready for estimation: the event day, the groups (the firms
    studied; ``members``: every ticker each group names, studied or not), the loaded data and
    returns over ``start..end``, the quality screen, the firms to fit (every firm with
    prices that passed the screen) and the market values (share counts as of the event)."""

    study: Study
    event: calendar.EventDay
    groups: dict[str, tuple[str, ...]]
    left_out: dict[str, str]
    members: dict[str, tuple[str, ...]]
    data: MarketData
    returns: pd.DataFrame
    basis: pd.Series
    flags: pd.DataFrame
    screened: dict[str, str]
    fitted: list[str]
    span_note: str
    mv: pd.DataFrame
    share_info: pd.DataFrame
    primary_of: dict[str, str]
    companies: pd.DataFrame

    def regressors(self, bench: str) -> tuple[pd.Series, pd.DataFrame, object]:
        """The market series of benchmark ``bench`` (a ticker or a constructed index), the
        model's regressors on every session of the returns, and the index's construction."""
        spec = self.study.benchmarks[bench]
        market, info = benchmark_returns(spec, self.returns, self.mv, self.groups, self.companies, self.primary_of)
        model = get_model(self.study.model)
        regressors = with_shifted_market(pd.DataFrame({"mkt": market}), model)
        if model.excess:
            regressors = regressors.join(factor_regressors(self.data.factors, model.columns), how="left")
        return market, regressors, info

    @property
    def fitted_groups(self) -> dict[str, tuple[str, ...]]:
        """Each group's firms that are fitted."""
        return {g: tuple(f for f in fs if f in self.fitted) for g, fs in self.groups.items()}

    def design(self, regressors: pd.DataFrame) -> Design:
        """The study's design on the fitted firms with these regressors."""
        s = self.study
        return Design(
            through_data_end(self.returns[self.fitted]),
            regressors,
            self.fitted_groups,
            s.model,
            s.estimation,
            run_windows(s),
            s.path,
            s.min_estimation_obs,
        )


def prepare(
    study: Study,
    *,
    offline: bool = True,
    refresh: bool = False,
    snapshot: Snapshot | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    **load_kwargs,
) -> Prepared:
    """Load and screen a one-date study's data over the sessions its windows reach around the
    event, or over ``span`` (the placebo's sessions)."""
    if study.own_data:
        return _prepare_own(study, span)
    snap = snapshot or default_snapshot()
    event = calendar.roll_event_date(study.event_date)
    check_not_future(event)
    companies, shares, implied = (
        snap.table("companies"),
        snap.table("shares_outstanding"),
        snap.table("market_values_2026"),
    )
    primary_of = primary_listing(companies, shares)
    # offline the data are the snapshot and the cache; online, yfinance is asked about any ticker
    known = set(snap.tickers()) | set((load_kwargs.get("cache") or PriceCache()).tickers()) if offline else None
    groups, left_out, members = resolve_groups(
        study.groups, companies, {"market_values_2026": implied}, primary_of, known
    )
    firms = sorted({f for g in groups.values() for f in g})
    _check_benchmark_not_a_firm(study, firms)
    start, end = _span(study, event, span)
    stocks = sorted(companies.ticker[companies.asset_type == "stock"]) if _every_stock(study) else []
    wanted = [*firms, *marketvalue.class_tickers(shares, firms), *study.series, *stocks]
    data = load_market_data(
        wanted, start, end, offline=offline, refresh=refresh, snapshot=snap, progress=progress, **load_kwargs
    )
    if not any(f in data.prices.frames for f in firms):
        raise NoFirmsLeftError({**left_out, **data.prices.failed})
    returns, basis = session_returns(data.prices.frames, start, end, study.returns)
    returns = model_returns(study.model, returns, data.prices.frames, firms)
    check_event_in_data(event.date, returns, OFFLINE_REMEDY.format(name=study.name) if offline else "")
    flags, screened, fitted = _screen(study, data, returns, [f for f in firms if f in data.prices.frames], left_out)
    span_note = coverage_note(returns[fitted], start, end)
    mv, share_info = stock_values(data, returns, primary_of, companies, fitted, event.date)
    return Prepared(
        study,
        event,
        groups,
        left_out,
        members,
        data,
        returns,
        basis,
        flags,
        screened,
        fitted,
        span_note,
        mv,
        share_info,
        primary_of,
        companies,
    )


OFFLINE_REMEDY = (
    "offline, only the committed snapshot and the cache are read: run without --offline to download the prices "
    "(eventstudy fetch {name} keeps them in the cache)"
)


def _prepare_own(study: Study, span: tuple[pd.Timestamp, pd.Timestamp] | None) -> Prepared:
    """:func:`prepare` for a study on its own files (``[data]``)."""
    ex = study.exchange
    event = calendar.roll_event_date(study.event_date, ex)
    check_not_future(event)
    named = sorted({t for g in study.groups.values() for t in g.tickers})
    firms = owndata.name_firms(study, [(t, event.date) for t in named])
    start, end = _span(study, event, span)
    files, data, returns = owndata.read_study_files(study, firms, start, end, all_stocks=_every_stock(study))
    returns = model_returns(study.model, returns, data.prices.frames, list(firms.ids))
    companies = data.companies
    groups, left_out, members = resolve_groups(study.groups, companies, {}, {}, None)
    wanted = sorted({f for g in groups.values() for f in g})
    _check_benchmark_not_a_firm(study, wanted)
    check_event_in_data(event.date, returns, "the files of [data] hold none for that day")
    have = [f for f in wanted if f in data.prices.frames]
    if not have:
        raise NoFirmsLeftError({**left_out, **data.prices.failed})
    flags, screened, fitted = _screen(study, data, returns, have, left_out, owndata.no_trading_only)
    owndata.check_market(study, files, returns, fitted)
    span_note = coverage_note(returns[fitted], start, end, ex)
    stocks = list(companies.ticker)
    mv, share_info = owndata.market_values(files, firms, stocks, returns.index[returns.index.get_loc(event.date) - 1])
    basis = owndata.basis_of(files, data, firms)
    return Prepared(
        study, event, groups, left_out, members, data, returns, basis, flags, screened, fitted, span_note, mv,
        share_info, {}, companies,
    )  # fmt: skip


def _screen(study: Study, data: MarketData, returns: pd.DataFrame, firms: list[str], left_out, kinds=None):
    """The firms' data-quality flags (``kinds``: the ones that apply, all by default), those the
    study excludes for them, and the firms left to fit (none: an error naming why each went)."""
    flags = quality.price_flags(
        {f: data.prices.frames[f] for f in firms},
        returns.index,
        study.quality.no_trading_days,
        get_model(study.model).thin_trading,
    )
    flags = kinds(flags) if kinds else flags
    screened = quality.excluded_by(flags, study.quality)
    fitted = [f for f in firms if f in returns and f not in screened]
    if not fitted:
        raise NoFirmsLeftError({**left_out, **data.prices.failed, **screened})
    return flags, screened, fitted


def _every_stock(study: Study) -> bool:
    """Whether the study reads every stock of its data: for an index of them (a constructed
    benchmark it runs under), or for the market's volume (``[volume]``)."""
    return study.volume is not None or any(study.benchmarks[b].constructed for b in _run_under(study))


def _run_under(study: Study) -> tuple[str, ...]:
    return (study.benchmark, *(study.sensitivity if get_model(study.model).uses_benchmark else ()))


def _span(study: Study, event: calendar.EventDay, span) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The sessions a one-date study reads: the day before its estimation window to the end of
    its farthest window or path (widened to ``span``: the placebo's)."""
    ex = study.exchange
    start = calendar.session_offset(event.date, study.estimation.start - 1, ex)
    end = calendar.session_offset(event.date, study.reach, ex)
    if span is not None:
        start, end = min(start, span[0]), max(end, span[1])
    return start, end


def run_windows(study: Study) -> tuple[Window, ...]:
    """The study's windows, and day 0 ([0,0]) first when they lack it: the day-0 table, figure
    and claims always use the day-0 AR with its own test."""
    return study.windows if any(w == DAY0 for w in study.windows) else (DAY0, *study.windows)


def _check_benchmark_not_a_firm(study: Study, firms: list[str]) -> None:
    for name in dict.fromkeys((study.benchmark, *study.sensitivity)):
        ticker = study.benchmarks[name].ticker
        if ticker in firms:
            key = "model.benchmark" if name == study.benchmark else "model.sensitivity"
            raise StudyFileError(
                study.path_file, key, f"{ticker} is one of the event firms: a firm cannot be its own benchmark"
            )


def _assemble(p: Prepared, main: EventStudyResult, runs: dict, notes: tuple[str, ...]) -> StudyResults:
    """The study's results from its prepared data and the core's runs (benchmark → (result,
    (market, regressors), construction))."""
    study, event, returns, data = p.study, p.event, p.returns, p.data
    days = returns.index
    pos = days.get_loc(event.date)
    mv = p.mv[p.fitted]
    # days past the data have no date (the returns the engine ran on end with the data)
    ar = main.ar.dropna(subset=["date"]).pivot(index="date", columns="ticker", values="ar")
    ret0, ar0 = returns.loc[event.date], ar.loc[event.date] if event.date in ar.index else pd.Series(dtype=float)
    day0 = dollars.day0_facts(data.prices.frames, mv, ret0, ar0, event.date, days[pos - 1])
    effects = dollars.window_effects(mv, returns, ar, days, pos, main.windows)
    share_info = p.share_info[p.share_info.firm.isin(mv.columns)].reset_index(drop=True)
    totals = dollars.group_totals(effects, p.groups, share_info)
    path_after = returns.iloc[pos + 1 : pos + 1 + study.path.end][mv.columns].T
    path_after.columns = range(1, len(path_after.columns) + 1)
    early = {
        **{t: ("universe", why) for t, why in p.left_out.items()},
        **{t: ("quality", w) for t, w in p.screened.items()},
    }
    excluded = _excluded(early, data, main)
    why = dict(zip(excluded.ticker, excluded.reason, strict=True))
    focus, focus_note = _focus(study, main, why, day0)
    indices, index_notes = _index_moves(study, returns, data, event.date, runs)
    ctx = _claim_context(p, day0, effects, path_after, why, main.windows)
    return StudyResults(
        study=study,
        event=event,
        main=main,
        sensitivity={b: r[0] for b, r in runs.items()},
        groups=p.groups,
        day0=day0,
        effects=effects,
        totals=totals,
        shares=share_info,
        claims=claims.check(study.claims, ctx, tuple(w.label for w in main.windows)),
        indices=indices,
        excluded=excluded,
        provenance=owndata.provenance(data, p.basis) if data.files is not None else _provenance(data, p.basis),
        prices=ohlc(data, mv.columns, days, pos, study),
        fit_data=fit_data(returns, runs[study.benchmark][1], main, days, pos, study),
        constructed={b: r[2] for b, r in runs.items() if r[2] is not None},
        notes=tuple(x for x in (*notes, focus_note, *index_notes) if x),
        focus=focus,
        flags=p.flags,
        firms_share=_firms_share(p.mv, mv.columns, days[pos - 1]),
    )


def _claim_context(p: Prepared, day0, effects, path_after, why, windows) -> claims.ClaimContext:
    """What the claims are checked against: the firms' facts and the reported index series'
    (day 0 and every window), every member of each universe, and when each ticker's prices
    start and end (a firm not yet listed takes no part in a universe's total)."""
    days, frames = p.returns.index, p.data.prices.frames
    pos = days.get_loc(p.event.date)
    series = [t for t in p.study.series if t in frames and t not in day0.index]
    none = pd.DataFrame(np.nan, index=days, columns=pd.Index(series))
    ret0 = p.returns.loc[p.event.date]
    facts = dollars.day0_facts(frames, none, ret0, pd.Series(dtype=float), p.event.date, days[pos - 1])
    moves = dollars.window_effects(none, p.returns, pd.DataFrame(index=days), days, pos, windows)
    spans = {w.label: (days[pos + w.start - 1], days[min(pos + w.end, len(days) - 1)]) for w in windows}
    return claims.ClaimContext(
        pd.concat([day0, facts]),
        pd.concat([effects, moves], ignore_index=True),
        p.members,
        path_after,
        why,
        spans,
        p.data.prices.extent,
    )


def _focus(study: Study, main: EventStudyResult, why: dict[str, str], day0: pd.DataFrame) -> tuple[str, str]:
    """The firm of the price and fit figures: the study's focus if it was fitted, else the
    fitted firm of the largest market value before the event (the first by name when none is
    valued), with a note saying why."""
    fitted = sorted(main.events.ticker)
    want = study.report.focus
    if want and want in fitted:
        return want, ""
    values = day0.mv_prev.reindex(fitted).dropna()
    largest = values.index[np.lexsort((values.index.to_numpy(), -values.to_numpy()))][0] if len(values) else fitted[0]
    if not want:
        return largest, ""
    reason = why.get(want, "it is not a firm of any group")
    return largest, (
        f"the focus firm {want} is not studied ({reason}); the figures show {largest} (the largest fitted firm) instead"
    )


def _firms_share(mv_all: pd.DataFrame, firms, prev: pd.Timestamp) -> float:
    """The study's firms' share of the market value of every stock valued on day −1 (NaN when
    the study's firms are all the stocks valued)."""
    values = mv_all.loc[prev].dropna() if prev in mv_all.index else pd.Series(dtype=float)
    if values.index.difference(pd.Index(firms)).empty:
        return float("nan")
    return float(values.reindex(firms).sum() / values.sum())


def _index_moves(study, returns, data, date, runs) -> tuple[pd.DataFrame, list[str]]:
    """Day-0 moves of the reported indices and the benchmarks; a series without a return that
    day is named with the span its data cover."""
    rows = [(t, "index or ETF", returns.at[date, t] if t in returns else float("nan")) for t in study.indices]
    kind = "benchmark" if get_model(study.model).uses_benchmark else f"benchmark (not in the {study.model} model)"
    rows += [
        (b, kind + (" (constructed)" if study.benchmarks[b].constructed else ""), r[1][0].get(date))
        for b, r in runs.items()
    ]
    frame = pd.DataFrame(rows, columns=["series", "kind", "ret"])
    frame = frame.drop_duplicates("series", keep="last").reset_index(drop=True)
    notes = []
    for t in frame.series[frame.ret.isna()]:
        f = data.prices.frames.get(t)
        if f is None or f.close.dropna().empty:
            notes.append(f"{t}: no data ({data.prices.failed.get(t, 'not loaded')})")
        else:
            have = f.close.dropna().index
            edge = (
                f"its data end on {have[-1]:%Y-%m-%d}"
                if have[-1] < date
                else f"its data start on {have[0]:%Y-%m-%d}"
                if have[0] >= date
                else "a gap in its data"
            )
            notes.append(f"{t}: no return on {date:%Y-%m-%d}: {edge}")
    return frame, notes


def _excluded(early: dict[str, tuple[str, str]], data, main: EventStudyResult) -> pd.DataFrame:
    """Every ticker left out, with the stage (universe, quality, data, estimation...) and why;
    ``early``: ticker → (stage, why) for those left out before the data were loaded or fitted."""
    rows = [(t, stage, why) for t, (stage, why) in early.items()]
    rows += [(t, "data", why) for t, why in data.prices.failed.items()]
    rows += [(r.ticker, r.stage, r.reason) for r in main.excluded.itertuples()]
    return pd.DataFrame(rows, columns=["ticker", "stage", "reason"])


def _provenance(data, basis) -> pd.DataFrame:
    return pd.DataFrame({"ticker": list(data.prices.origin), "origin": list(data.prices.origin.values())}).merge(
        basis.rename_axis("ticker").reset_index(), how="left"
    )
