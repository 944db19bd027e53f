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
    rows = []
    for ticker, frame in frames.items():
        f = frame.reindex(days)
        price = f.close if f.close.notna().any() else f.adj_close
        have = price.dropna()
        if have.empty:
            continue
        span = f.loc[have.index[0] : have.index[-1]]
        rows += [(ticker, "split_jump", d, d, why) for d, why in _split_jumps(have, span.splits)]
        idle = price.loc[span.index].isna() | (span.volume == 0)
        rows += [(ticker, "no_trading", a, b, why) for a, b, why in _stretches(idle, no_trading_days)]
    return pd.DataFrame(rows, columns=COLUMNS)


# every ratio a split or reverse split would move the close by, in the order they are named
_FACTORS = [
    (f, name) for k in SPLIT_RATIOS for f, name in ((1 / k, f"{k}-for-1 split"), (k, f"1-for-{k} reverse split"))
]


def _split_jumps(price: pd.Series, splits: pd.Series) -> list[tuple[pd.Timestamp, str]]:
    ratio = (price / price.shift(1)).iloc[1:]
    recorded = splits.reindex(ratio.index).fillna(0.0)
    ratio = ratio[(recorded == 0) | (recorded == 1)]
    factors = np.array([f for f, _ in _FACTORS])
    hits = np.abs(ratio.to_numpy()[:, None] / factors - 1) < SPLIT_TOLERANCE  # day × factor
    return [
        (day, f"the close moves ×{x:.4g} on {day:%Y-%m-%d}, as a {_FACTORS[j][1]} would, and no split is recorded")
        for i, j in zip(*np.nonzero(hits), strict=True)
        for day, x in [(ratio.index[i], ratio.iloc[i])]
    ]


def _stretches(idle: pd.Series, shortest: int) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    flags = np.concatenate([[False], idle.to_numpy(dtype=bool), [False]])
    edges = np.flatnonzero(flags[1:] != flags[:-1])  # starts and ends (exclusive) of idle runs, in turn
    out = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - first >= shortest:
            a, b = idle.index[first], idle.index[stop - 1]
            n = stop - first
            out.append((a, b, f"{n} sessions without trading (zero volume or no price), {a:%Y-%m-%d}..{b:%Y-%m-%d}"))
    return out


def excluded_by(flags: pd.DataFrame, spec: QualitySpec) -> dict[str, str]:
    """Ticker → reason for each firm a flag of an excluding kind applies to."""
    hit = flags[flags.kind.isin(spec.exclude)]
    return {t: f"data quality ({', '.join(g.kind.unique())}): {g.detail.iloc[0]}" for t, g in hit.groupby("ticker")}
