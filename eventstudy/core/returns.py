"""From prices to returns: daily total returns on the NYSE sessions, and factor tables.

Total return (CRSP's definition; ``kind="price"`` leaves the dividend out):
r_t = (close_t + dividend_t) / close_{t−1} − 1 from the traded close; a ticker with no traded
close (only a dividend-adjusted series) uses adj_close_t / adj_close_{t−1} − 1 and is listed
with that basis. A return is NaN when either
close is missing or not positive: a missing or bad day is never filled.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .calendar import sessions


def total_returns(close: pd.Series, dividends: pd.Series) -> pd.Series:
    """(close_t + dividend_t) / close_{t−1} − 1 on consecutive rows of ``close``."""
    values = _returns(close.to_numpy(dtype="float64")[:, None], dividends.to_numpy(dtype="float64")[:, None])
    return pd.Series(values[:, 0], index=close.index, name=close.name)


def _returns(close: np.ndarray, dividends: np.ndarray) -> np.ndarray:
    """Days × tickers: (close_t + dividend_t) / close_{t−1} − 1 where both closes are positive,
    else NaN (a missing dividend counts as none)."""
    prev = np.vstack([np.full((1, close.shape[1]), np.nan), close[:-1]])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ret = (close + np.where(np.isnan(dividends), 0.0, dividends)) / prev - 1
        ok = (close > 0) & (prev > 0)
    return np.where(ok, ret, np.nan)


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
    close, adj, dividends = stack(frames, days, "close", "adj_close", "dividends")
    traded = ~np.isnan(close).all(axis=0)  # a ticker without a traded close uses its adjusted one
    if kind == "price":
        dividends = np.zeros_like(close)
    ret = _returns(np.where(traded, close, adj), np.where(traded, dividends, 0.0))
    returns = pd.DataFrame(np.where(np.isfinite(ret), ret, np.nan), index=days, columns=pd.Index(list(frames)))
    names = {"total": "traded close + dividends", "price": "traded close"}
    basis = np.where(traded, names[kind], "adjusted close").astype(object)
    return returns, pd.Series(basis, index=returns.columns, name="return_basis", dtype="object")


def through_data_end(returns: pd.DataFrame) -> pd.DataFrame:
    """``returns`` up to the last session on which any of its series has a return. The frames are
    built on the exchange's calendar out to the farthest day the windows reach; an event near the
    end of the data would leave sessions there on which nothing has a return yet, and the engines
    would read their days as the firms' missing returns instead of days after the data."""
    have = np.flatnonzero(returns.notna().to_numpy().any(axis=1))
    return returns.iloc[: have[-1] + 1] if len(have) else returns


def stack(frames: Mapping[str, pd.DataFrame], days: pd.DatetimeIndex, *columns: str) -> tuple[np.ndarray, ...]:
    """Days × tickers of each named column of every frame (NaN where a frame has no row that
    day), one array per column."""
    out = np.full((len(columns), len(days), len(frames)), np.nan)
    day_ns = days.as_unit("ns").asi8  # sorted: a frame's dates are placed by binary search
    places: dict[tuple, np.ndarray] = {}  # the columns' places, once for frames that share their columns
    for j, frame in enumerate(frames.values()):
        pos = places.get(shape := tuple(frame.columns))
        if pos is None:
            pos = places[shape] = frame.columns.get_indexer(columns)
        if (pos < 0).any():
            raise KeyError(f"the prices lack the column(s) {[c for c, p in zip(columns, pos, strict=True) if p < 0]}")
        dates = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
        at = np.minimum(day_ns.searchsorted(dates), max(len(day_ns) - 1, 0))
        inside = day_ns[at] == dates if len(day_ns) else np.zeros(len(dates), dtype=bool)
        out[:, at[inside], j] = frame.to_numpy(dtype="float64")[inside][:, pos].T
    return tuple(out)


def factor_regressors(factors: dict[str, pd.DataFrame], model_columns: tuple[str, ...]) -> pd.DataFrame:
    """Fama–French factor columns in decimals (the files are in percent). The 5-factor columns
    come from the 5-factor file (its SMB differs from the 3-factor one); momentum from its own."""
    five = {"rmw", "cma"} & set(model_columns)
    base = factors["ff5"] if five else factors["ff3"]
    frame = base.join(factors["mom"], how="left") if "mom" in model_columns else base
    return frame / 100.0
