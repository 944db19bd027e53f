"""Trade-to-trade returns for the trade-to-trade model (:mod:`eventstudy.core.tradetotrade`): on
a session without a trade (zero volume, or no price) the return is missing; on the next session
that traded it is the return since the last trade, ∏(1 + R) over the sessions between, the
dividends of the idle sessions included."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..core.models import get_model
from ..core.returns import stack


def model_returns(model: str, returns: pd.DataFrame, frames: Mapping[str, pd.DataFrame], firms: list[str]):
    """The returns the ``model`` is fitted on: the firms' made trade to trade
    (:func:`trade_to_trade`) for the trade-to-trade model, else ``returns`` as they are."""
    if get_model(model).fitter != "trade-to-trade":
        return returns
    return trade_to_trade(returns, frames, firms)


def trade_to_trade(returns: pd.DataFrame, frames: Mapping[str, pd.DataFrame], firms: list[str]) -> pd.DataFrame:
    """``returns`` with the ``firms``' columns made trade to trade (the other columns, e.g. the
    benchmark, as they are). A span with a missing daily return is missing too."""
    have = [f for f in firms if f in frames and f in returns]
    if not have:
        return returns
    volume, close = stack({f: frames[f] for f in have}, returns.index, "volume", "close")
    traded = np.isfinite(close) & ~(volume == 0)
    out = returns.copy()
    for j, f in enumerate(have):
        r = returns[f].to_numpy(dtype=float)
        growth, values = 1.0, np.full(len(r), np.nan)
        for t in range(len(r)):
            growth *= 1.0 + r[t]
            if traded[t, j]:
                values[t] = growth - 1.0
                growth = 1.0
        out[f] = values
    return out
