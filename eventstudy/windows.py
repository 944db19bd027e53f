"""Windows in sessions relative to day 0, and the alignment of returns into event time.

:func:`align` gathers, for N firm-events, the firm's returns and the model's regressors on
the relative days ``grid`` (estimation window ∪ event path ∪ event windows) into dense
N × G (× F) arrays with NaN where a value is missing. Missing values are never filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._typing import BoolArray, Float64Array, IntArray


@dataclass(frozen=True, order=True)
class Window:
    """Sessions ``start`` .. ``end`` relative to the event, both included."""

    start: int
    end: int
    label: str = ""

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"window [{self.start},{self.end}] ends before it starts")
        if not self.label:
            object.__setattr__(self, "label", f"[{self.start:+d},{self.end:+d}]".replace("+0", "0"))

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def days(self) -> range:
        return range(self.start, self.end + 1)


DEFAULT_ESTIMATION = Window(-250, -11, "estimation")
DEFAULT_WINDOWS = (Window(0, 0), Window(-1, 1), Window(0, 1), Window(0, 4), Window(-5, 5))
DEFAULT_PATH = Window(-10, 10, "path")


@dataclass(frozen=True)
class Aligned:
    """Firm-event returns and regressors in event time.

    ``y`` is N × G, ``factors`` N × G × F (the model's regressor columns ``factor_names``),
    ``dates`` N × G session dates (NaT outside the data), ``grid`` the G relative days.
    """

    event_ids: tuple[str, ...]
    tickers: tuple[str, ...]
    event_dates: tuple[pd.Timestamp, ...]
    grid: IntArray
    y: Float64Array
    factors: Float64Array
    factor_names: tuple[str, ...]
    dates: np.ndarray
    estimation: Window

    @property
    def in_estimation(self) -> BoolArray:
        return (self.grid >= self.estimation.start) & (self.grid <= self.estimation.end)

    def in_window(self, window: Window) -> BoolArray:
        return (self.grid >= window.start) & (self.grid <= window.end)

    def subset(self, keep: BoolArray) -> Aligned:
        pick = np.flatnonzero(keep)
        return Aligned(
            tuple(self.event_ids[i] for i in pick),
            tuple(self.tickers[i] for i in pick),
            tuple(self.event_dates[i] for i in pick),
            self.grid,
            self.y[pick],
            self.factors[pick],
            self.factor_names,
            self.dates[pick],
            self.estimation,
        )


def event_grid(estimation: Window, windows: tuple[Window, ...], path: Window) -> IntArray:
    """Relative days needed: the estimation window, the path and every event window."""
    if any(w.start <= estimation.end for w in (*windows, path)):
        raise ValueError(
            f"event windows and the path must start after the estimation window ends "
            f"(day {estimation.end}); got {[w.label for w in (*windows, path) if w.start <= estimation.end]}"
        )
    days = set(estimation.days()).union(path.days(), *(w.days() for w in windows))
    return np.array(sorted(days), dtype=np.int64)


def align(
    returns: pd.DataFrame, regressors: pd.DataFrame, events: pd.DataFrame, *, estimation: Window, grid: IntArray
) -> tuple[Aligned, pd.DataFrame]:
    """Gather ``returns`` (session × ticker) and ``regressors`` (session × F) around each event.

    ``events`` has columns ``event_id, ticker, event_date``; each event date must be a row of
    ``returns`` (a session). Returns the aligned arrays and the excluded events
    (``event_id, ticker, stage, reason``).
    """
    index = pd.DatetimeIndex(returns.index)
    col = pd.Index(returns.columns).get_indexer(events["ticker"])
    pos = index.get_indexer(pd.DatetimeIndex(events["event_date"]))
    bad = (col < 0) | (pos < 0)
    excluded = pd.DataFrame(
        {
            "event_id": events["event_id"][bad],
            "ticker": events["ticker"][bad],
            "stage": "align",
            "reason": np.where(
                col[bad] < 0, "no returns for this ticker", "the event date is not a session of the return data"
            ),
        }
    )
    ev = events[~bad]
    col, pos = col[~bad], pos[~bad]
    at = pos[:, None] + grid[None, :]
    inside = (at >= 0) & (at < len(index))
    at_c = np.clip(at, 0, len(index) - 1)
    y = np.where(inside, returns.to_numpy(dtype="float64")[at_c, col[:, None]], np.nan)
    f = regressors.reindex(index).to_numpy(dtype="float64")[at_c]
    f[~inside] = np.nan
    dates = np.where(inside, index.to_numpy()[at_c], np.datetime64("NaT"))
    aligned = Aligned(
        tuple(ev["event_id"]),
        tuple(ev["ticker"]),
        tuple(pd.DatetimeIndex(ev["event_date"])),
        grid,
        y,
        f,
        tuple(regressors.columns),
        dates,
        estimation,
    )
    return aligned, excluded.reset_index(drop=True)
