"""Abnormal trading volume (METHODS.md §1, Campbell & Wasley 1996): each firm's log turnover
v_it = ln(100 · n_it / S_it + c), c = 0.000255 (a zero-volume session stays finite: ln c); the
market's v_mt, the equal-weighted mean of v over the data's stocks that traded that session;
abnormal volume AV from the market model on v_mt (or the firm's own mean: ``model = "mean"``),
fitted on the study's estimation window; CAV, its prediction-error variance and every group test
exactly as for returns (the core run on v instead of R, so r̄ comes from the volume residuals)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..core import exclusions
from ..core.engine import run_event_study
from ..core.results import EventStudyResult
from ..core.returns import stack
from ..core.runspec import AUTO, Engine

C = 0.000255  # added to the turnover in percent (Campbell & Wasley 1996, as EventStudyTools states it)
MODELS = {"market": "market", "mean": "constant-mean"}


@dataclass(frozen=True)
class VolumeSpec:
    """``[volume]`` of a study file: ``model`` is ``market`` (AV against the market's log
    turnover) or ``mean`` (against the firm's mean over the estimation window)."""

    model: str = "market"


def log_turnover(volume: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """v = ln(100 · volume / shares + c); NaN where the volume or the share count is missing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(100.0 * volume.to_numpy() / shares.to_numpy() + C)
    ok = np.isfinite(volume.to_numpy()) & (volume.to_numpy() >= 0) & (shares.to_numpy() > 0)
    return pd.DataFrame(np.where(ok, v, np.nan), index=volume.index, columns=volume.columns)


NO_SHARES = "no share count: turnover needs the shares outstanding"
NO_VOLUME = "no volume in the data"


def turnover(
    frames: Mapping[str, pd.DataFrame], mv: pd.DataFrame, days: pd.DatetimeIndex
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Sessions × stocks of log turnover: each stock's volume over its shares outstanding, the
    shares being its market value over its close on the same split basis (the snapshot's share
    count as of the event, or a data file's daily count); and why a stock has none."""
    stocks = [t for t in mv.columns if t in frames]
    volume, close = stack({t: frames[t] for t in stocks}, days, "volume", "close")
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = mv[stocks].reindex(days).to_numpy() / close
    why = {t: NO_VOLUME for j, t in enumerate(stocks) if np.isnan(volume[:, j]).all()}
    why |= {t: NO_SHARES for j, t in enumerate(stocks) if t not in why and not (shares[:, j] > 0).any()}
    return log_turnover(pd.DataFrame(volume, days, stocks), pd.DataFrame(shares, days, stocks)), why


def run_volume(
    spec: VolumeSpec,
    v: pd.DataFrame,
    events: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    design: Mapping,
    engine: Engine = AUTO,
    why: Mapping[str, str] | None = None,
) -> EventStudyResult:
    """The core on log turnover: ``v`` (sessions × stocks, the market's members), ``events``
    (``event_id, ticker, event_date``) and ``groups`` (of event ids); ``design``: the study's
    estimation, windows, path and min_estimation_obs. A firm without volume or shares is excluded
    with its reason (stage ``volume``; ``why``: ticker → reason, as :func:`turnover` gives them)."""
    market = v.mean(axis=1, skipna=True).rename("mkt")
    have = [t for t in dict.fromkeys(events.ticker) if t in v and v[t].notna().any()]
    kept = events[events.ticker.isin(have)]
    kept_ids = set(kept.event_id)
    missing = events[~events.ticker.isin(have)]
    reasons = [(r.event_id, r.ticker, "volume", (why or {}).get(r.ticker, NO_VOLUME)) for r in missing.itertuples()]
    result = run_event_study(
        v[have],
        market.to_frame(),
        kept,
        model=MODELS[spec.model],
        groups={g: [e for e in ids if e in kept_ids] for g, ids in groups.items()},
        influence=False,
        **design,
        **engine.options(),
    )
    if reasons:
        extra = pd.DataFrame(reasons, columns=exclusions.COLUMNS)
        result = replace(result, excluded=pd.concat([extra, result.excluded], ignore_index=True))
    return result


def unmeasured(result: EventStudyResult | None) -> tuple[str, ...]:
    """The note to print when the volume study measured no firm-event (a returns file without a
    volume column, say), with why; none when it measured one or was not asked for."""
    if result is None or len(result.events):
        return ()
    why = result.excluded.drop_duplicates("event_id").reason.value_counts()
    return ("the volume study measured no firm-event: " + "; ".join(f"{r} ({n})" for r, n in why.items()),)
