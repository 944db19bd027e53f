"""Windows in sessions relative to day 0, and the alignment of returns into event time.

:func:`align` gathers, for N firm-events, the firm's returns on the relative days ``grid``
(estimation window ∪ event path ∪ event windows) into an N × G array, and the model's
regressors once per distinct event date, with NaN where a value is missing. Missing values
are never filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._typing import BoolArray, Float64Array, IntArray
from .exclusions import locate


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


def as_window(w: Window | Sequence[int], label: str = "") -> Window:
    """A :class:`Window` from a window or a ``(start, end)`` pair of integers."""
    if isinstance(w, Window):
        return w
    try:
        start, end = w
        if not all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in (start, end)):
            raise TypeError
    except (TypeError, ValueError):
        raise TypeError(f"a window is a Window or a (start, end) pair of integers; got {w!r}") from None
    return Window(int(start), int(end), label)


DAY0 = Window(0, 0)
DEFAULT_ESTIMATION = Window(-250, -11, "estimation")
DEFAULT_WINDOWS = (Window(0, 0), Window(-1, 1), Window(0, 1), Window(0, 4), Window(-5, 5))
DEFAULT_PATH = Window(-10, 10, "path")


@dataclass(frozen=True)
class Aligned:
    """Firm-event returns and regressors in event time.

    Firm-events that share an event date share their regressors: they form a *cluster*.
    ``y`` is N × G (the firm's returns on the G relative days ``grid``); ``cluster`` (N,) maps
    each firm-event to its cluster; ``factors`` is C × G × F (the regressor columns
    ``factor_names`` around each cluster's date) and ``cluster_dates`` C × G the session dates
    (NaT outside the data). One shared event date is one cluster; an earnings-style sample has
    as many clusters as distinct dates — never one regressor matrix per firm-event.
    ``event_ids`` (unique), ``tickers`` and ``event_dates`` are indexes, not Python tuples, so
    that the tidy result frames are built by ``take``/``repeat`` at array speed. ``positions``
    (N,) is each event date's row in the return data (calendar time in sessions: two events'
    windows meet when their positions are close); ``removed`` (N,) counts the estimation returns
    set aside because another event of the same firm covers them.
    """

    event_ids: pd.Index
    tickers: pd.Index
    event_dates: pd.DatetimeIndex
    grid: IntArray
    y: Float64Array
    cluster: IntArray
    factors: Float64Array
    factor_names: tuple[str, ...]
    cluster_dates: np.ndarray
    estimation: Window
    positions: IntArray | None = None
    removed: IntArray | None = None

    @property
    def in_estimation(self) -> BoolArray:
        return (self.grid >= self.estimation.start) & (self.grid <= self.estimation.end)

    def in_window(self, window: Window) -> BoolArray:
        return (self.grid >= window.start) & (self.grid <= window.end)

    def dates_of(self, rows: IntArray | slice) -> np.ndarray:
        """Session dates of the firm-events ``rows``: len(rows) × G, or 1 × G (broadcastable)
        when they share one event date."""
        clusters = self.cluster[rows]
        if len(clusters) and (clusters == clusters[0]).all():
            return self.cluster_dates[clusters[:1]]
        return self.cluster_dates[clusters]

    def clusters(self) -> list[tuple[int, IntArray | slice]]:
        """Each cluster with the rows of its firm-events: a slice when they are consecutive (one
        event date, or events sorted by date), so that the per-cluster algebra works on views."""
        order = np.argsort(self.cluster, kind="stable")
        bounds = np.searchsorted(self.cluster[order], np.arange(len(self.factors) + 1))
        return [
            (c, as_slice(order[bounds[c] : bounds[c + 1]]))
            for c in range(len(self.factors))
            if bounds[c] < bounds[c + 1]
        ]

    def subset(self, keep: BoolArray) -> Aligned:
        pick = np.flatnonzero(keep)
        return replace(
            self,
            event_ids=self.event_ids[pick],
            tickers=self.tickers[pick],
            event_dates=self.event_dates[pick],
            y=self.y[pick],
            cluster=self.cluster[pick],
            positions=None if self.positions is None else self.positions[pick],
            removed=None if self.removed is None else self.removed[pick],
        )


def as_slice(rows: IntArray) -> IntArray | slice:
    """``rows`` as a slice when they are consecutive positions in increasing order, so that
    indexing with them gives a view, not a copy; otherwise ``rows`` unchanged."""
    if len(rows) and (np.diff(rows) == 1).all():
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


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
    returns: pd.DataFrame,
    regressors: pd.DataFrame,
    events: pd.DataFrame,
    *,
    estimation: Window,
    grid: IntArray,
    other_events: Window | None = None,
) -> tuple[Aligned, pd.DataFrame]:
    """Gather ``returns`` (session × ticker) and ``regressors`` (session × F) around each event.

    ``events`` has columns ``event_id, ticker, event_date`` with unique ``event_id``s; each event
    date must be a row of ``returns`` (a session). With ``other_events`` (the span of days an
    event occupies, e.g. its path), an estimation return that falls in that span around another
    event of the same ticker is set aside (its count is ``removed``). Returns the aligned arrays
    and the excluded events (``event_id, ticker, stage, reason``).
    """
    index = pd.DatetimeIndex(returns.index)
    col, pos, excluded = locate(index, returns.columns, events)
    bad = (col < 0) | (pos < 0)
    ev = events[~bad]
    col, pos = col[~bad], pos[~bad]
    at = pos[:, None] + grid[None, :]
    inside = (at >= 0) & (at < len(index))
    # gathered ticker by ticker: a DataFrame's float block is stored one ticker per row
    y = returns.to_numpy(dtype="float64").T[col[:, None], np.clip(at, 0, len(index) - 1)]
    if not inside.all():
        y[~inside] = np.nan
    removed = None
    if other_events is not None:
        hit = contaminated(pd.factorize(ev["ticker"])[0], pos, grid, estimation, other_events)
        removed = (hit & np.isfinite(y)).sum(axis=1)
        y[hit] = np.nan
    starts, cluster = np.unique(pos, return_inverse=True)
    at_c = starts[:, None] + grid[None, :]
    inside_c = (at_c >= 0) & (at_c < len(index))
    at_c = np.clip(at_c, 0, len(index) - 1)
    f = regressors.reindex(index).to_numpy(dtype="float64")[at_c]
    f[~inside_c] = np.nan
    aligned = Aligned(
        event_ids=pd.Index(ev["event_id"]),
        tickers=pd.Index(ev["ticker"]),
        event_dates=pd.DatetimeIndex(ev["event_date"]),
        grid=grid,
        y=y,
        cluster=cluster.astype(np.int64),
        factors=f,
        factor_names=tuple(regressors.columns),
        cluster_dates=np.where(inside_c, index.to_numpy()[at_c], np.datetime64("NaT")),
        estimation=estimation,
        positions=pos.astype(np.int64),
        removed=removed,
    )
    return aligned, excluded


def contaminated(firm: IntArray, pos: IntArray, grid: IntArray, estimation: Window, span: Window) -> BoolArray:
    """N × G: the estimation days of each event that lie within ``span`` of another event of the
    same firm (``firm`` codes, ``pos`` event sessions). Pairs are found by sorting, so the cost
    grows with the firms' neighbouring events, not with N²."""
    n = len(pos)
    out = np.zeros((n, len(grid)), bool)
    if n < 2:
        return out
    order = np.lexsort((pos, firm))
    key_firm, key_pos = firm[order], pos[order]
    # another event j of the same firm touches i's estimation window when
    # pos_j + span.start <= pos_i + estimation.end and pos_j + span.end >= pos_i + estimation.start
    lo = _search(key_firm, key_pos, key_pos + estimation.start - span.end, "left")
    hi = _search(key_firm, key_pos, key_pos + estimation.end - span.start, "right")
    counts = hi - lo
    i = np.repeat(np.arange(n), counts)
    j = np.repeat(lo, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    keep = i != j
    i, j = i[keep], j[keep]
    offset = key_pos[j] - key_pos[i]
    est = (grid >= estimation.start) & (grid <= estimation.end)
    for q in span.days():
        day = offset + q  # the day, relative to event i, that is day q of event j
        col = np.searchsorted(grid, day)
        ok = (col < len(grid)) & (grid[np.minimum(col, len(grid) - 1)] == day)
        ok[ok] = est[col[ok]]
        out[order[i[ok]], col[ok]] = True
    return out


def _search(firm: IntArray, pos: IntArray, target: IntArray, side: str) -> IntArray:
    """Index in the (firm, pos)-sorted events of ``target`` positions within each event's own firm."""
    scale = int(max(pos.max(), target.max()) - min(pos.min(), target.min()) + 1)
    base = min(pos.min(), target.min())
    keys = firm.astype(np.int64) * scale + (pos - base)
    return np.searchsorted(keys, firm.astype(np.int64) * scale + (target - base), side=side)
