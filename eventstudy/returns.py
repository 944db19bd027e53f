"""From prices to returns: daily total returns on the NYSE sessions, and factor tables.

Total return (CRSP's definition; ``kind="price"`` leaves the dividend out):
r_t = (close_t + dividend_t) / close_{t−1} − 1 from the traded close; a ticker with no traded
close (only a dividend-adjusted series) uses adj_close_t / adj_close_{t−1} − 1 and is listed
with that basis. A return is NaN when either
close is missing or not positive: a missing or bad day is never filled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calendar import sessions


def total_returns(close: pd.Series, dividends: pd.Series) -> pd.Series:
    """(close_t + dividend_t) / close_{t−1} − 1 on consecutive rows of ``close``."""
    ret = (close + dividends.fillna(0.0)) / close.shift(1) - 1
    return ret.where((close > 0) & (close.shift(1) > 0))


def session_returns(
    frames: dict[str, pd.DataFrame], start: object, end: object, kind: str = "total"
) -> tuple[pd.DataFrame, pd.Series]:
    """Sessions × tickers of daily returns, and each ticker's basis (``traded close +
    dividends``, ``traded close`` or ``adjusted close``). ``kind`` is ``total`` (dividends
    included, the default) or ``price`` (the close alone: an ex-dividend day falls by about the
    dividend). Rows are exactly the NYSE sessions of ``[start, end]``: a session a ticker lacks
    is NaN (and so is the next day's return)."""
    if kind not in ("total", "price"):
        raise ValueError(f"returns are 'total' or 'price', got {kind!r}")
    days = sessions(start, end)
    out, basis = {}, {}
    for ticker, frame in frames.items():
        f = frame.reindex(days)
        if f["close"].notna().any() and kind == "price":
            out[ticker], basis[ticker] = total_returns(f["close"], pd.Series(0.0, index=days)), "traded close"
        elif f["close"].notna().any():
            out[ticker], basis[ticker] = total_returns(f["close"], f["dividends"]), "traded close + dividends"
        else:
            out[ticker], basis[ticker] = total_returns(f["adj_close"], pd.Series(0.0, index=days)), "adjusted close"
    returns = pd.DataFrame(out, index=days)
    returns[~np.isfinite(returns)] = np.nan
    return returns, pd.Series(basis, name="return_basis", dtype="object")


def factor_regressors(factors: dict[str, pd.DataFrame], model_columns: tuple[str, ...]) -> pd.DataFrame:
    """Fama–French factor columns in decimals (the files are in percent). The 5-factor columns
    come from the 5-factor file (its SMB differs from the 3-factor one); momentum from its own."""
    five = {"rmw", "cma"} & set(model_columns)
    base = factors["ff5"] if five else factors["ff3"]
    frame = base.join(factors["mom"], how="left") if "mom" in model_columns else base
    return frame / 100.0
