"""Price sanity beyond single cells: signs that a firm's series is not what it seems.

Two kinds of flag, per firm, over the sessions a study reads (between the firm's first and
last price):

- ``split_jump``: the close moves by a split ratio on a day it should not. An unadjusted split
  would put a fake −90 % or +900 % return into the estimation or the event window. Three
  checks, the first two certain, the third a request to look (a real move can match):

  1. *against the adjusted close*: where a source gives both, the close and the adjusted close
     move apart by a split ratio (within :data:`SPLIT_TOLERANCE`): the close is unadjusted;
  2. *against the recorded splits*: on a day the source records a split, the close moves by its
     ratio, so the close was not adjusted for it (an adjusted close does not move);
  3. *by its size*: on a day with no split recorded, the close moves by a ratio of
     :func:`split_ratios` (k-for-1 and 1-for-k for k = 2 … 100, and p-for-q such as 3-for-2),
     the open gaps from the last close by it too (a split happens overnight), the move is too
     large for the firm's own returns (at least :data:`MIN_MOVE` and :data:`MIN_SIGMAS` robust
     standard deviations) and within a tolerance scaled by them (:data:`TOLERANCE_SIGMAS`, at
     least :data:`SPLIT_TOLERANCE`), so a split on a day the stock also moved is still caught;
     unless the day traded :data:`NEWS_VOLUME` times its usual volume beyond what the split
     itself would explain (a k-for-1 multiplies unadjusted volume by k): a crash on news trades
     heavily, a split does not (Vistra's −28 % on 27 January 2025 traded 4.8 times its volume).

- ``no_trading``: a stretch of at least ``no_trading_days`` sessions with zero volume or no
  price (a halt, a stale quote): the returns there are zeros or gaps, not information.

A study may exclude a firm for a kind of flag (``[quality] exclude``). Pure functions of the
price frames; the pipeline applies them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from ..core.returns import stack

KINDS = ("split_jump", "no_trading")
SPLIT_TOLERANCE = 0.02  # in log points: the least tolerance, and the whole of it in checks 1 and 2
TOLERANCE_SIGMAS = 4.0
MIN_SIGMAS = 5.0
MIN_MOVE = 0.25  # log points (a 22 % fall, a 28 % rise): the smallest move check 3 looks at
NEWS_VOLUME = 3.0  # a move on this many times the usual volume (beyond what a split explains) is news
COLUMNS = ["ticker", "kind", "first", "last", "detail"]


@dataclass(frozen=True)
class QualitySpec:
    """``[quality]`` of a study file: the shortest stretch without trading that is flagged,
    and the kinds of flag that exclude a firm."""

    no_trading_days: int = 5
    exclude: tuple[str, ...] = ()


# the ratios splits are mostly made at: a move within tolerance of one of these is named by it
COMMON = frozenset({2, 3, 4, 5, 8, 10, 15, 20, 25, 30, 40, 50, 100, 3 / 2, 5 / 2})


@cache
def split_ratios() -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """The log price factors of the splits checked, sorted, their names, and whether each is a
    :data:`COMMON` ratio: k-for-1 splits and 1-for-k reverse splits (k = 2 … 100), and p-for-q
    splits (q = 2 … 4, p ≤ 10, p/q ≥ 1.5: 3-for-2, 5-for-2, 7-for-4, …). Smaller ratios
    (5-for-4) are not told from an ordinary day, and reverse splits are 1-for-k in practice (a
    rise by 3/2 is a rally, not a 2-for-3)."""
    whole = [(k, 1) for k in range(2, 101)]
    parts = [(p, q) for q in (2, 3, 4) for p in range(q + 1, 11) if math.gcd(p, q) == 1 and p / q >= 1.5]
    named = [(math.log(q / p), f"{p}-for-{q} split", p / q in COMMON) for p, q in whole + parts]
    named += [(math.log(k), f"1-for-{k} reverse split", k in COMMON) for k, _ in whole]
    named.sort()
    return np.array([f for f, _, _ in named]), tuple(n for _, n, _ in named), np.array([c for _, _, c in named])


def _match(moves: np.ndarray, tolerance: float) -> np.ndarray:
    """For each log move, the index of the split factor it matches within ``tolerance`` (−1 for
    none): a :data:`COMMON` ratio before a rarer one, then the nearest (a 10-for-1 on a day the
    stock fell 5 % is named 10-for-1, not 11-for-1). Only the few moves with a factor near them
    are scored (the factors are sorted: those within reach of a move are a run of them)."""
    factors, _, common = split_ratios()
    out = np.full(len(moves), -1)
    reach = tolerance * (1 + 1e-9) + 1e-12  # a little wider than the test below, which decides
    finite = np.where(np.isfinite(moves), moves, np.inf)
    lo = np.searchsorted(factors, finite - reach, side="left")
    hi = np.searchsorted(factors, finite + reach, side="right")
    for i in np.flatnonzero(hi > lo):
        gap = np.abs(moves[i] - factors[lo[i] : hi[i]])
        score = np.where(gap <= tolerance, gap + np.where(common[lo[i] : hi[i]], 0.0, 10.0), np.inf)
        best = int(np.argmin(score))
        if np.isfinite(score[best]):
            out[i] = lo[i] + best
    return out


def price_flags(
    frames: Mapping[str, pd.DataFrame], days: pd.DatetimeIndex, no_trading_days: int, count_idle: bool = False
) -> pd.DataFrame:
    """One row per flag (:data:`COLUMNS`) of each frame over ``days``; with ``count_idle`` (a
    thin-trading model) also each firm's count of sessions without a trade (``non_trading_days``:
    zero volume or no price, between its first and last price), for the firms that have any."""
    opens, close, adj, splits, volume = stack(frames, days, "open", "close", "adj_close", "splits", "volume")
    rows = []
    for j, ticker in enumerate(frames):
        traded = not np.isnan(close[:, j]).all()
        price = close[:, j] if traded else adj[:, j]
        have = np.flatnonzero(~np.isnan(price))
        if not len(have):
            continue
        adjusted = adj[have, j] if traded else None
        series = _Series(days[have], price[have], opens[have, j], adjusted, splits[have, j], volume[have, j])
        rows += [(ticker, "split_jump", d, d, why) for d, why in series.split_jumps()]
        span = slice(have[0], have[-1] + 1)
        idle = np.isnan(price[span]) | (volume[span, j] == 0)
        rows += [(ticker, "no_trading", a, b, why) for a, b, why in _stretches(idle, days[span], no_trading_days)]
        if count_idle and idle.any():
            sessions = days[span]
            detail = f"{int(idle.sum())} of {len(idle)} sessions without a trade (zero volume or no price)"
            rows.append((ticker, "non_trading_days", sessions[idle][0], sessions[idle][-1], detail))
    return pd.DataFrame(rows, columns=COLUMNS)


@dataclass(frozen=True)
class _Series:
    """One firm's prices on the days it has one (none missing): the close (or the adjusted
    close when the firm has no traded close), the open, the adjusted close beside a traded
    one (None without), the recorded split ratios (0, 1 or NaN: none)."""

    days: pd.DatetimeIndex
    close: np.ndarray
    open: np.ndarray
    adj: np.ndarray | None
    splits: np.ndarray
    volume: np.ndarray

    def split_jumps(self) -> list[tuple[pd.Timestamp, str]]:
        """Each day the close moves by a split ratio it should not (the module's three checks),
        with why; a day is named once, by the first check that finds it."""
        if len(self.close) < 2:
            return []
        with np.errstate(divide="ignore", invalid="ignore"):
            move = np.diff(np.log(self.close))
            gap = np.log(self.open[1:]) - np.log(self.close[:-1])
            apart = move - np.diff(np.log(self.adj)) if self.adj is not None else np.full_like(move, np.nan)
        recorded = np.nan_to_num(self.splits[1:], nan=0.0)
        recorded = np.where(recorded == 1, 0.0, recorded)
        sigma = _robust_sigma(move)
        _, names, _ = split_ratios()
        found: dict[int, str] = {}
        split = _match(np.where(np.abs(apart) >= np.log(1.5) - SPLIT_TOLERANCE, apart, np.nan), SPLIT_TOLERANCE)
        for i in np.flatnonzero(split >= 0):
            found[i] = (
                f"the close moves ×{math.exp(move[i]):.4g} on {self.days[i + 1]:%Y-%m-%d} and the adjusted close "
                f"×{math.exp(move[i] - apart[i]):.4g}: the close is not adjusted for a {names[split[i]]}"
            )
        tolerance = max(SPLIT_TOLERANCE, TOLERANCE_SIGMAS * sigma)
        for i in np.flatnonzero(recorded > 0):
            if i not in found and abs(move[i] + math.log(recorded[i])) <= tolerance:
                found[i] = (
                    f"the close moves ×{math.exp(move[i]):.4g} on {self.days[i + 1]:%Y-%m-%d}, the day a "
                    f"{recorded[i]:g}-for-1 split is recorded: the close is not adjusted for it"
                )
        least = max(MIN_MOVE, MIN_SIGMAS * sigma)
        split = _match(np.where((recorded == 0) & (np.abs(move) >= least), move, np.nan), tolerance)
        gapped = np.isnan(gap) | ((_match(gap, tolerance) >= 0) & (np.abs(gap) >= least))
        factors, _, _ = split_ratios()
        explained = np.where(split >= 0, np.maximum(1.0, np.exp(-factors[split])), 1.0)  # k-for-1: raw volume ×k
        news = _volume_surge(self.volume) > NEWS_VOLUME * explained
        for i in np.flatnonzero((split >= 0) & gapped & ~news):
            found.setdefault(
                i,
                f"the close moves ×{math.exp(move[i]):.4g} on {self.days[i + 1]:%Y-%m-%d}, the ratio of a "
                f"{_alike(move[i], tolerance)} (within {tolerance:.2f} log points, {TOLERANCE_SIGMAS:g} of its daily "
                "standard deviations), and no split is recorded",
            )
        return [(self.days[i + 1], found[i]) for i in sorted(found)]


def _alike(move: float, tolerance: float) -> str:
    """The splits a move matches within ``tolerance``, nearest first: the common ratios among
    them ("10-for-1 split or 8-for-1 split"), else the nearest one."""
    factors, names, common = split_ratios()
    gap = np.abs(move - factors)
    near = [i for i in np.argsort(gap, kind="stable") if gap[i] <= tolerance]
    shown = [i for i in near if common[i]] or near[:1]
    return " or ".join(names[i] for i in shown)


def _volume_surge(volume: np.ndarray) -> np.ndarray:
    """Each day's volume (after the first) over the median of the 20 sessions before it (NaN
    where unknown)."""
    before = pd.Series(volume).shift(1).rolling(20, min_periods=5).median().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, volume / before, np.nan)[1:]


def _robust_sigma(move: np.ndarray) -> float:
    """The standard deviation of daily log moves from their median absolute deviation (×1.4826),
    which the jumps looked for do not inflate."""
    m = move[np.isfinite(move)]
    return float(1.4826 * np.median(np.abs(m - np.median(m)))) if len(m) else 0.0


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
