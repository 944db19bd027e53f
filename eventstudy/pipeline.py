"""The one place that wires the stages: study → prices → returns → model → dollars → claims.

``run_study`` reads top to bottom like the data flow of the README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from . import calendar, claims, dollars, marketvalue
from .benchmarks import benchmark_returns
from .data import load_market_data
from .data.loader import MarketData
from .data.snapshot import Snapshot, default_snapshot
from .engine import firm_events, run_event_study
from .errors import CalendarError, NoFirmsLeftError
from .models import get_model
from .results import EventStudyResult, StudyResults
from .returns import factor_regressors, session_returns
from .study import Study, load_study
from .universe import primary_listing, resolve_groups
from .windows import event_grid


def run_study(
    study: Study | str,
    *,
    offline: bool = True,
    refresh: bool = False,
    snapshot: Snapshot | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    **load_kwargs,
) -> StudyResults:
    """Run a study end to end and return its results (nothing is written)."""
    study = study if isinstance(study, Study) else load_study(study)
    snap = snapshot or default_snapshot()
    event = calendar.roll_event_date(study.event_date)
    if event.date > pd.Timestamp.today().normalize():
        raise CalendarError(f"event date {event.date:%Y-%m-%d} is in the future: there are no prices yet")
    companies, shares, implied = (
        snap.table("companies"),
        snap.table("shares_outstanding"),
        snap.table("market_values_2026"),
    )
    primary_of = primary_listing(companies, shares)
    known = set(snap.tickers()) if offline else None  # online, yfinance is asked about any ticker
    groups, left_out = resolve_groups(study.groups, companies, {"market_values_2026": implied}, primary_of, known)
    firms = list(dict.fromkeys(f for g in groups.values() for f in g))
    start = calendar.session_offset(event.date, study.estimation.start - 1)
    end = calendar.session_offset(event.date, max(w.end for w in (*study.windows, study.path)))
    constructed = any(study.benchmarks[b].constructed for b in (study.benchmark, *study.sensitivity))
    stocks = sorted(companies.ticker[companies.asset_type == "stock"]) if constructed else []
    wanted = [*firms, *_class_tickers(shares, firms), *_series_tickers(study), *stocks]
    data = load_market_data(
        wanted, start, end, offline=offline, refresh=refresh, snapshot=snap, progress=progress, **load_kwargs
    )
    if not any(f in data.prices.frames for f in firms):
        raise NoFirmsLeftError({**left_out, **data.prices.failed})
    returns, basis = session_returns(data.prices.frames, start, end)
    _check_event_in_data(event.date, returns)
    fitted = [f for f in firms if f in returns]
    mv, share_info = _market_values(data, returns, primary_of, companies, fitted, event.date)
    runs = {
        name: _estimate(study, returns, fitted, groups, event.date, data, name, mv, primary_of, companies)
        for name in dict.fromkeys((study.benchmark, *study.sensitivity))
    }
    main = runs[study.benchmark][0]
    if main.events.empty:
        fit_failed = dict(zip(main.excluded.ticker, main.excluded.reason, strict=True))
        raise NoFirmsLeftError({**left_out, **data.prices.failed, **fit_failed})
    return _assemble(study, event, main, runs, groups, data, returns, basis, mv[fitted], share_info, left_out)


def _class_tickers(shares: pd.DataFrame, firms: list[str]) -> list[str]:
    rows = shares[shares.ticker.isin(firms) & (shares.share_class != "TOTAL")]
    return sorted(set(rows.price_ticker.dropna()) - set(firms))


def _series_tickers(study: Study) -> list[str]:
    named = [b.ticker for b in study.benchmarks.values() if b.ticker]
    return list(dict.fromkeys([*named, *study.indices]))


def _check_event_in_data(date: pd.Timestamp, returns: pd.DataFrame) -> None:
    if date not in returns.index or returns.loc[date].isna().all():
        have = returns.dropna(how="all")
        span = f"{have.index[0]:%Y-%m-%d} .. {have.index[-1]:%Y-%m-%d}" if len(have) else "none"
        raise CalendarError(f"no returns on the event day {date:%Y-%m-%d}: the data covers {span}")


def _market_values(data: MarketData, returns: pd.DataFrame, primary_of, companies, firms, date):
    """Market values of the study's firms and of every other stock loaded (for value weights)."""
    listed = [t for t in companies.ticker[companies.asset_type == "stock"] if primary_of.get(t, t) == t]
    stocks = list(dict.fromkeys([*firms, *(t for t in listed if t in data.prices.frames)]))
    closes, splits = data.prices.panel("close").reindex(returns.index), data.prices.panel("splits")
    fallback = data.prices.panel("adj_close").reindex(returns.index)
    mv, info = marketvalue.market_values(
        stocks, returns.index, closes, splits, data.shares, data.implied_shares, primary_of, date, fallback
    )
    return mv, info


def _estimate(study, returns, firms, groups, date, data, bench, mv, primary_of, companies):
    spec = study.benchmarks[bench]
    market, info = benchmark_returns(spec, returns, mv, groups, companies, primary_of)
    model = get_model(study.model)
    regressors = pd.DataFrame({"mkt": market})
    if model.excess:
        regressors = regressors.join(factor_regressors(data.factors, model.columns), how="left")
    result = run_event_study(
        returns[firms],
        regressors,
        firm_events(firms, date),
        model=study.model,
        estimation=study.estimation,
        windows=study.windows,
        path=study.path,
        min_estimation_obs=study.min_estimation_obs,
        groups={g: tuple(f for f in fs if f in firms) for g, fs in groups.items()},
    )
    return result, market, info


def _assemble(study, event, main: EventStudyResult, runs, groups, data, returns, basis, mv, share_info, left_out):
    days = returns.index
    pos = days.get_loc(event.date)
    ar = main.ar.pivot(index="date", columns="ticker", values="ar")
    ret0, ar0 = returns.loc[event.date], ar.loc[event.date] if event.date in ar.index else pd.Series(dtype=float)
    day0 = dollars.day0_facts(data.prices.frames, mv, ret0, ar0, event.date, days[pos - 1])
    effects = dollars.window_effects(mv, returns, ar, days, pos, study.windows)
    share_info = share_info[share_info.firm.isin(mv.columns)].reset_index(drop=True)
    totals = dollars.group_totals(effects, groups, share_info)
    path_after = returns.iloc[pos + 1 : pos + 1 + study.path.end][mv.columns].T
    path_after.columns = range(1, len(path_after.columns) + 1)
    ctx = claims.ClaimContext(day0, effects, totals[totals.window == study.windows[0].label], groups, path_after)
    return StudyResults(
        study=study,
        event=event,
        main=main,
        sensitivity={b: r[0] for b, r in runs.items()},
        groups=groups,
        day0=day0,
        effects=effects,
        totals=totals,
        shares=share_info,
        claims=claims.check(study.claims, ctx),
        indices=_index_moves(study, returns, event.date, runs),
        excluded=_excluded(left_out, data, main),
        provenance=_provenance(data, basis),
        prices=_ohlc(data, mv.columns, days, pos, study),
        fit_data=_fit_data(returns, runs[study.benchmark][1], mv.columns, days, pos, study),
        constructed={b: r[2] for b, r in runs.items() if r[2] is not None},
        notes=tuple(x for x in (event.note, *data.prices.notes) if x),
    )


def _index_moves(study, returns, date, runs) -> pd.DataFrame:
    rows = [(t, "index or ETF", returns.at[date, t] if t in returns else float("nan")) for t in study.indices]
    rows += [
        (b, "benchmark" + (" (constructed)" if study.benchmarks[b].constructed else ""), r[1].get(date))
        for b, r in runs.items()
    ]
    frame = pd.DataFrame(rows, columns=["series", "kind", "ret"])
    return frame.drop_duplicates("series", keep="last").reset_index(drop=True)


def _excluded(left_out, data, main: EventStudyResult) -> pd.DataFrame:
    rows = [(t, "universe", why) for t, why in left_out.items()]
    rows += [(t, "data", why) for t, why in data.prices.failed.items()]
    rows += [(r.ticker, r.stage, r.reason) for r in main.excluded.itertuples()]
    return pd.DataFrame(rows, columns=["ticker", "stage", "reason"])


def _provenance(data, basis) -> pd.DataFrame:
    return pd.DataFrame({"ticker": list(data.prices.origin), "origin": list(data.prices.origin.values())}).merge(
        basis.rename_axis("ticker").reset_index(), how="left"
    )


def _ohlc(data, firms, days, pos, study) -> pd.DataFrame:
    span = days[pos + study.path.start - 1 : pos + study.path.end + 1]
    frames = []
    for t in firms:
        f = data.prices.frames[t].reindex(span)[["open", "high", "low", "close"]]
        frames.append(f.assign(ticker=t, day=range(study.path.start - 1, study.path.start - 1 + len(span))))
    return pd.concat(frames).rename_axis("date").reset_index()


def _fit_data(returns, market, firms, days, pos, study) -> pd.DataFrame:
    span = days[pos + study.estimation.start : pos + study.path.end + 1]
    rel = range(study.estimation.start, study.estimation.start + len(span))
    frame = returns.loc[span, list(firms)].assign(day=list(rel), mkt=market.reindex(span))
    return frame.rename_axis("date").reset_index().melt(["date", "day", "mkt"], var_name="ticker", value_name="ret")


def with_overrides(study: Study, **changes) -> Study:
    """A copy of ``study`` with command-line overrides (model, estimation, windows), checked
    as the study file is: a known model, windows that start after the estimation window ends.
    Raises ValueError before any data is read."""
    out = replace(study, **{k: v for k, v in changes.items() if v is not None})
    get_model(out.model)
    event_grid(out.estimation, out.windows, out.path)
    return out
