"""Price sanity beyond single cells: signs that a firm's series is not what it seems.

Two kinds of flag, per firm, over the sessions a study reads (between the firm's first and
last price):

- ``split_jump``: the close moves by a split ratio (×k or ×1/k for k in :data:`SPLIT_RATIOS`,
  within :data:`SPLIT_TOLERANCE`) on a day with no split recorded: an unadjusted split would
  put a fake −90 % or +900 % return into the estimation or the event window. A real move can
  match (a stock that doubles): the flag asks the reader to look, it does not say which.
- ``no_trading``: a stretch of at least ``no_trading_days`` sessions with zero volume or no
  price (a halt, a stale quote): the returns there are zeros or gaps, not information.

A study may exclude a firm for a kind of flag (``[quality] exclude``). Pure functions of the
price frames; the pipeline applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .returns import stack

KINDS = ("split_jump", "no_trading")
SPLIT_RATIOS = (2, 3, 4, 5, 8, 10, 15, 20, 25, 30, 40, 50, 100)
SPLIT_TOLERANCE = 0.02
COLUMNS = ["ticker", "kind", "first", "last", "detail"]


@dataclass(frozen=True)
class QualitySpec:
    """``[quality]`` of a study file: the shortest stretch without trading that is flagged,
    and the kinds of flag that exclude a firm."""

    no_trading_days: int = 5
    exclude: tuple[str, ...] = ()


def price_flags(frames: Mapping[str, pd.DataFrame], days: pd.DatetimeIndex, no_trading_days: int) -> pd.DataFrame:
    """One row per flag (:data:`COLUMNS`) of each frame over ``days``."""
    close, adj, splits, volume = stack(frames, days, "close", "adj_close", "splits", "volume")
    rows = []
    for j, ticker in enumerate(frames):
        price = close[:, j] if not np.isnan(close[:, j]).all() else adj[:, j]
        have = np.flatnonzero(~np.isnan(price))
        if not len(have):
            continue
        rows += [(ticker, "split_jump", d, d, why) for d, why in _split_jumps(price[have], splits[have, j], days[have])]
        span = slice(have[0], have[-1] + 1)
        idle = np.isnan(price[span]) | (volume[span, j] == 0)
        rows += [(ticker, "no_trading", a, b, why) for a, b, why in _stretches(idle, days[span], no_trading_days)]
    return pd.DataFrame(rows, columns=COLUMNS)


# every ratio a split or reverse split would move the close by, in the order they are named
_FACTORS = [
    (f, name) for k in SPLIT_RATIOS for f, name in ((1 / k, f"{k}-for-1 split"), (k, f"1-for-{k} reverse split"))
]
_RATIOS = np.array([f for f, _ in _FACTORS])


def _split_jumps(price: np.ndarray, splits: np.ndarray, days: pd.DatetimeIndex) -> list[tuple[pd.Timestamp, str]]:
    """Moves between consecutive prices (``price`` on ``days``, none missing) by a split ratio
    on a day with no split recorded."""
    ratio = price[1:] / price[:-1]
    recorded = np.nan_to_num(splits[1:], nan=0.0)
    keep = np.flatnonzero((recorded == 0) | (recorded == 1)) + 1
    hits = np.abs(price[keep, None] / price[keep - 1, None] / _RATIOS - 1) < SPLIT_TOLERANCE  # day × factor
    return [
        (
            days[keep[i]],
            f"the close moves ×{x:.4g} on {days[keep[i]]:%Y-%m-%d}, as a {_FACTORS[f][1]} would, "
            "and no split is recorded",
        )
        for i, f in zip(*np.nonzero(hits), strict=True)
        for x in [ratio[keep[i] - 1]]
    ]


def _stretches(idle: np.ndarray, days: pd.DatetimeIndex, shortest: int) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """Runs of at least ``shortest`` idle days."""
    flags = np.concatenate([[False], idle, [False]])
    edges = np.flatnonzero(flags[1:] != flags[:-1])  # starts and ends (exclusive) of idle runs, in turn
    out = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - first >= shortest:
            a, b = days[first], days[stop - 1]
            n = stop - first
            out.append((a, b, f"{n} sessions without trading (zero volume or no price), {a:%Y-%m-%d}..{b:%Y-%m-%d}"))
    return out


def excluded_by(flags: pd.DataFrame, spec: QualitySpec) -> dict[str, str]:
    """Ticker → reason for each firm a flag of an excluding kind applies to."""
    hit = flags[flags.kind.isin(spec.exclude)]
    return {t: f"data quality ({', '.join(g.kind.unique())}): {g.detail.iloc[0]}" for t, g in hit.groupby("ticker")}
