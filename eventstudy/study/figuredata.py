"""What the price and fit figures of a one-date study draw: each firm's prices around day 0, and
its returns beside the benchmark's and the model's expected return over the estimation window
and the path."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.models import Model
from ..core.results import EventStudyResult
from ..core.returns import stack


def ohlc(data, firms, days, pos, study) -> pd.DataFrame:
    span = days[pos + study.path.start - 1 : pos + study.path.end + 1]
    frames = {t: data.prices.frames[t] for t in firms}
    values = stack(frames, span, "open", "high", "low", "close")
    n = len(firms)
    out = {"date": np.tile(span, n)}
    out |= {c: v.T.ravel() for c, v in zip(("open", "high", "low", "close"), values, strict=True)}
    out |= {"ticker": np.repeat(list(firms), len(span)), "day": np.tile(np.arange(len(span)) + study.path.start - 1, n)}
    return pd.DataFrame(out)


def fit_data(returns, series, main: EventStudyResult, days, pos, study) -> pd.DataFrame:
    """``ticker, date, day, ret, mkt, expected`` over the estimation window and the path:
    each fitted firm's return, the benchmark's, and the model's expected return."""
    market, regressors = series
    span = days[pos + study.estimation.start : pos + study.path.end + 1]
    regs = regressors.reindex(span)
    ev = main.events
    n = len(ev)
    return pd.DataFrame(
        {
            "ticker": np.repeat(ev.ticker.to_numpy(), len(span)),
            "date": np.tile(span, n),
            "day": np.tile(np.arange(len(span)) + study.estimation.start, n),
            "ret": returns[list(ev.ticker)].reindex(span).to_numpy().T.ravel(),
            "mkt": np.tile(market.reindex(span).to_numpy(), n),
            "expected": _expected(main.model, ev, regs).T.ravel(),
        }
    )


def _expected(model: Model, params: pd.DataFrame, regs: pd.DataFrame) -> np.ndarray:
    """Days × events: the model's expected return on each day, from each event's estimated
    parameters (``params``: one row per event)."""
    if not model.estimated:
        return np.repeat(regs["mkt"].to_numpy()[:, None], len(params), axis=1)
    fitted = np.repeat(params.alpha.to_numpy()[None, :], len(regs), axis=0)
    for c in model.columns:
        fitted = fitted + params["beta" if c == "mkt" else c].to_numpy()[None, :] * regs[c].to_numpy()[:, None]
    return fitted + regs["rf"].to_numpy()[:, None] if model.excess else fitted
