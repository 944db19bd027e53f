"""What a streamed run shares and how it is cut: the plan (model, windows, sessions, regressors,
tests), the layout of the firm-events in the return data, and the chunks of whole firms (with
the sessions their events reach)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from ..._typing import BoolArray, Float64Array, IntArray
from .. import exclusions
from ..inference.rbar import OVERLAP_IDENTITY_METHOD
from ..models import Model
from ..windows import Window

CHUNK_EVENTS = 20_000  # firm-events per chunk unless told otherwise

ESTIMATION_METHOD = OVERLAP_IDENTITY_METHOD  # the identity without strata (events on different dates)

Rows = dict[str, np.ndarray]
"""Columns of tidy rows, ``order`` (the firm-event's row of the :class:`Layout`) first: numpy
only, so a block's rows cost no frame, and the ids and tickers are looked up once, in
:func:`~eventstudy.core.stream.finish.finish`."""


@dataclass(frozen=True)
class Plan:
    """What every chunk shares: the model and its windows, the sessions and regressors
    (``x``: sessions × the model's regressor columns ``names``), the group names, and whether
    the events fall on different dates (the calendar-time test and GRANK then join)."""

    model: Model
    estimation: Window
    windows: tuple[Window, ...]
    path: Window
    grid: IntArray
    x: Float64Array
    names: tuple[str, ...]
    groups: tuple[str, ...]
    min_obs: int = 120
    other_events: Window | None = None
    apart: bool = False
    keep_ar: bool = True
    tests: tuple[str, ...] = ()
    kernel: bool = False  # the compiled loops of stream.kernel: the same numbers, faster

    @property
    def sessions(self) -> int:
        return len(self.x)

    @property
    def reach(self) -> tuple[int, int]:
        """The grid's first and last relative day: how far before and after its session an
        event reaches."""
        return int(self.grid[0]), int(self.grid[-1])

    @cached_property  # asked for in every block: worked out once (a frozen plan's grid does not change)
    def est_cols(self) -> IntArray:
        cols = np.flatnonzero((self.grid >= self.estimation.start) & (self.grid <= self.estimation.end))
        cols.flags.writeable = False  # shared by every block and thread
        return cols

    @cached_property
    def est_slice(self) -> slice:
        """The estimation days of the grid, which come first and are consecutive."""
        cols = self.est_cols
        return slice(int(cols[0]), int(cols[-1]) + 1)

    def inside(self, w: Window) -> BoolArray:
        return (self.grid >= w.start) & (self.grid <= w.end)

    @property
    def span(self) -> int:
        """The longest event window: pairs of events farther apart never share a window day."""
        return max(w.length for w in self.windows)

    def design(self) -> tuple[Float64Array, Float64Array | None, Float64Array | None]:
        """The regressors X (sessions × K − 1, the constant left implicit), and the series the
        dependent variable subtracts: rf for excess returns, the market for market-adjusted."""
        col = {n: self.x[:, i] for i, n in enumerate(self.names)}
        cols = self.model.columns if self.model.estimated else ()
        x = np.column_stack([col[c] for c in cols]) if cols else np.empty((self.sessions, 0))
        return x, col.get("rf") if self.model.excess else None, None if self.model.estimated else col["mkt"]


@dataclass(frozen=True)
class Chunk:
    """Some firms' returns (sessions × firms, from session ``start``) and all their events:
    ``col`` (each event's firm among the chunk's columns), ``pos`` (its session), ``order`` (its
    row in the whole sample, which names it: :class:`Layout`), and ``member`` (events × groups)."""

    returns: Float64Array
    col: IntArray
    pos: IntArray
    order: IntArray
    member: BoolArray
    start: int = 0

    def __len__(self) -> int:
        return len(self.pos)


@dataclass(frozen=True)
class Local:
    """A chunk restricted to the sessions its events reach (a few hundred on one event date):
    the dependent variable y, the regressors x, the valid estimation days and the returns set
    aside for the firm's other events (none in the second pass, which has the valid days from the
    first), and the chunk with positions made local."""

    chunk: Chunk
    y: Float64Array
    x: Float64Array
    valid: BoolArray
    blocked: BoolArray
    lo: int

    @classmethod
    def of(cls, plan: Plan, chunk: Chunk, valid: BoolArray | None = None) -> Local:
        """The chunk's sessions; ``valid``, when the first pass has found them, its valid days
        (then nothing is set aside again). In the first pass with the compiled loops, ``valid`` is
        left for the running sums to write as they read y (estimation_sums: a pass over the
        chunk's returns fewer)."""
        x, rf, mkt = plan.design()
        lo, hi = _reached(chunk.pos, plan.reach, plan.sessions)
        # firm-major, as the passes read them (a copy only where they are not), y and the estimates' returns alike
        returns = np.asfortranarray(chunk.returns[lo - chunk.start : hi - chunk.start])
        chunk = replace(chunk, returns=returns, pos=chunk.pos - lo, start=lo)
        y, x = returns, x[lo:hi]
        for series in (rf, mkt):
            if series is not None:
                y = y - series[lo:hi, None]
        t, f = y.shape
        y = np.asfortranarray(y)  # y − a series keeps the returns' order; this only makes sure
        if valid is not None:  # the second pass: nothing is set aside again
            return cls(chunk, y, x, np.asfortranarray(valid), np.zeros((0, f), bool), lo)
        blocked = np.zeros((t, f), bool, order="F")
        if plan.other_events is not None and len(chunk):
            many = np.bincount(chunk.col, minlength=f)[chunk.col] > 1  # an event blocks its span for the others
            span = plan.other_events
            days = chunk.pos[many, None] + np.arange(span.start, span.end + 1)
            inside = (days >= 0) & (days < t)
            days += (chunk.col[many] * t)[:, None]  # each day's place in the firm-major block
            blocked.ravel(order="F")[days[inside]] = True  # a view: one index, not two
        if plan.kernel:
            return cls(chunk, y, x, np.empty((t, f), bool, order="F"), blocked, lo)
        valid = np.isfinite(y)  # firm-major as y; the steps below in place, with no array of their own
        valid &= np.isfinite(x).all(axis=1)[:, None]
        np.greater(valid, blocked, out=valid)  # and not blocked
        return cls(chunk, y, x, valid, blocked, lo)

    def gather(self, plan: Plan, cols: IntArray, shift: Float64Array, x_mean: Float64Array):
        """y (less the firm's shift) and the centred regressors on the relative days ``cols``
        of the grid of every event (NaN outside the data), where those days are inside, and
        their sessions (clipped to the data). A ``take`` by flat index is faster than indexing
        by session and firm, five times so firm-major (each firm-event's days are adjacent)."""
        c = self.chunk
        t = len(self.y)
        at = c.pos[:, None] + plan.grid[cols][None, :]
        inside = (at >= 0) & (at < t)
        np.clip(at, 0, t - 1, out=at)
        flat = _flat_index(self.y, at, c.col)
        y = self.y.ravel(order="K").take(flat)
        y -= shift[c.col][:, None]
        y[~inside] = np.nan
        xs = [np.where(inside, self.x[:, i].take(at) - x_mean[i], np.nan) for i in range(self.x.shape[1])]
        return y, xs, inside, at


def _reached(pos: IntArray, reach: tuple[int, int], sessions: int) -> tuple[int, int]:
    """The sessions [lo, hi) of the data that events on sessions ``pos`` reach (``reach``: the
    grid's first and last relative day); (0, 0) for no event."""
    if not len(pos):
        return 0, 0
    return max(0, int(pos.min()) + reach[0]), min(sessions, int(pos.max()) + reach[1] + 1)


def firm_order(col: IntArray, pos: IntArray) -> IntArray:
    """The rows sorted by firm ``col``, then session ``pos``, then row: ``np.lexsort((pos,
    col))``'s order, from one sort of a key that is unique to each row (six to nine times
    faster at 1,000,000 rows), or lexsort itself when the key would not fit in 63 bits."""
    n = len(col)
    if not n:
        return np.arange(0)
    sessions, firms = int(pos.max()) + 1, int(col.max()) + 1
    if min(int(col.min()), int(pos.min())) < 0 or firms * sessions * n >= 1 << 62:
        return np.lexsort((pos, col))
    key = col.astype(np.int64) * sessions
    key += pos
    key *= n
    key += np.arange(n)
    return np.argsort(key)


def _flat_index(a: np.ndarray, at: IntArray, col: IntArray) -> IntArray:
    """The flat index (into ``a.ravel(order="K")``) of sessions ``at`` (n × days) of each row's
    firm ``col``, for ``a`` sessions × firms contiguous in either order."""
    step, width = (s // a.itemsize for s in a.strides)
    flat = at * step
    flat += (col * width)[:, None]
    return flat


def _take(chunk: Chunk, rows: IntArray) -> Chunk:
    return Chunk(
        chunk.returns,
        chunk.col[rows],
        chunk.pos[rows],
        chunk.order[rows],
        chunk.member[rows],
        chunk.start,
    )


@dataclass(frozen=True)
class Layout:
    """The firm-events placed in the return data: each one's firm (a column of the returns) and
    session, its id, ticker and groups (``member``: events × groups), in the sample's order;
    and the events that could not be placed."""

    col: IntArray
    pos: IntArray
    event_ids: pd.Index
    tickers: pd.Index
    member: BoolArray
    excluded: pd.DataFrame
    listed: dict[str, tuple[pd.Index, IntArray]]  # each group's ids, in its order, and their rows (−1: absent)

    @classmethod
    def of(
        cls, index: pd.DatetimeIndex, columns: pd.Index, events: pd.DataFrame, groups: Mapping[str, Sequence[str]]
    ) -> Layout:
        col, pos, excluded = exclusions.locate(index, columns, events)
        good = (col >= 0) & (pos >= 0)
        ids = pd.Index(events["event_id"][good])
        member = np.zeros((len(ids), len(groups)), bool)
        listed = {}
        every = pd.Index(events["event_id"], dtype=ids.dtype)
        for g, (name, members) in enumerate(groups.items()):
            given = pd.Index(members, dtype=ids.dtype)
            if given.equals(every):  # every event, in order: no look-up
                at = np.where(good, np.cumsum(good) - 1, -1)
            else:
                at = ids.get_indexer(given)
            member[at[at >= 0], g] = True
            listed[name] = (given, at)
        return cls(col[good], pos[good], ids, pd.Index(events["ticker"][good]), member, excluded, listed)

    def places(self, rows: IntArray) -> dict[str, IntArray]:
        """Each group's firm-events among ``rows`` (the fitted ones, in their order) as places in
        ``rows``, in the group's order: :meth:`kept`'s ids, by position."""
        return {name: at[at >= 0] for name, _, at in self._placed(rows)}

    def kept(self, rows: IntArray) -> dict[str, tuple[str, ...]]:
        """Each group's ids, in the group's order, of the firm-events ``rows`` (those fitted)."""
        return {name: tuple(given[at >= 0].tolist()) for name, given, at in self._placed(rows)}

    def _placed(self, rows: IntArray) -> list[tuple[str, pd.Index, IntArray]]:
        """Each group's name, ids and their places among ``rows`` (−1: not among them, or not
        placed in the data)."""
        place = np.full(len(self.pos) + 1, -1)  # the last entry answers −1: not placed
        place[rows] = np.arange(len(rows))
        return [(name, given, place[at]) for name, (given, at) in self.listed.items()]

    @cached_property
    def _by_firm(self) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
        """The events grouped by firm (each firm's by session), the firms in the order of their
        first event (ties: by column), where each firm's events start, and each firm's first and
        last event session. Firms whose events are near in time are then neighbours: a chunk of
        them reaches few sessions when each has few events (one event a firm over a long panel)."""
        order = firm_order(self.col, self.pos)
        firms, first = np.unique(self.col[order], return_index=True)
        bounds = np.r_[first, len(order)]
        lo, hi = self.pos[order][bounds[:-1]], self.pos[order][bounds[1:] - 1]
        by_time = np.argsort(lo, kind="stable")
        counts = np.diff(bounds)[by_time]
        starts = np.r_[0, np.cumsum(counts)]
        # each firm's block of rows moved whole to its place in time: row k of the new order is
        # row k − (where its firm's block now starts) + (where it started)
        order = order[np.repeat(bounds[:-1][by_time] - starts[:-1], counts) + np.arange(len(order))]
        return order, firms[by_time], starts, lo[by_time], hi[by_time]

    def spans(self, size: int, sessions: int, reach: tuple[int, int] = (0, 0), cells: int = 1 << 21):
        """Chunks of whole firms (ranges of the firms that have events, in :attr:`_by_firm`'s
        order), about ``size`` firm-events each and at most ``cells`` return cells (the sessions
        the chunk's events reach, from ``reach``: the first and last relative day of the grid, ×
        its firms; a chunk's working arrays, its returns, y and their masks, take about 30 bytes
        a cell); one empty chunk when there is no firm-event, so that every sum still has its
        shape.

        Several chunks are made an even number, of about equal size (:meth:`_even`): filled one
        after another to the bounds, they ended with one smaller than the rest (at 100,000
        firm-events 17 of 5,800 and one of 800), and of two workers one waited at the end of each
        pass while the other did a whole chunk (each pass 3-5 % longer). The chunks depend only
        on the firm-events and the bounds, never on the workers, so neither do the sums."""
        out = self._filled(size, sessions, reach, cells)
        return self._even(out, size, sessions, reach, cells)

    def _filled(self, size: float, sessions: int, reach: tuple[int, int], cells: float) -> list[tuple[int, int]]:
        """The chunks, each filled with firms to ``size`` firm-events or ``cells`` cells (:meth:`spans`)."""
        _, firms, bounds, lo, hi = self._by_firm
        out, start = [], 0
        while start < len(firms):
            stop = min(max(int(np.searchsorted(bounds, bounds[start] + size, side="left")), start + 1), len(firms))
            width = np.maximum.accumulate(hi[start:stop]) - lo[start] + (reach[1] - reach[0] + 1)
            need = np.arange(1, stop - start + 1) * np.minimum(width, sessions)
            stop = start + max(1, int(np.searchsorted(need, cells, side="right")))
            out.append((start, stop))
            start = stop
        return out or [(0, 0)]

    def _even(self, filled: list[tuple[int, int]], size: int, sessions: int, reach, cells: int):
        """``filled`` made an even number of chunks with the bounds shrunk alike (by bisection) to
        the least that still fills no more: the chunks' largest as small as it can be, each within
        the bounds. ``filled`` itself where it is a single chunk, or already an even number whose
        last is at least half the size of the first."""
        _, _, bounds, _, _ = self._by_firm
        events = [bounds[b] - bounds[a] for a, b in filled]
        if len(filled) < 2 or (len(filled) % 2 == 0 and 2 * events[-1] >= events[0]):
            return filled
        want = len(filled) + len(filled) % 2
        # the bounds' share: the filled chunks but the last hold nearly all, so that ``want`` chunks
        # need more than (filled − 1) / want of the bounds each (below it, more chunks than ``want``)
        low, high = 0.9 * (len(filled) - 1) / want, 1.0
        for _ in range(10):  # to within a thousandth
            mid = (low + high) / 2
            if len(self._filled(size * mid, sessions, reach, cells * mid)) <= want:
                high = mid
            else:
                low = mid
        out = self._filled(size * high, sessions, reach, cells * high)
        return out if len(out) == want else filled

    def chunk(self, returns: Float64Array, span: tuple[int, int], reach: tuple[int, int] | None = None) -> Chunk:
        """The chunk of the firms ``span`` (from :meth:`spans`): their returns and events; with
        ``reach`` (the grid's first and last relative day) only the sessions their events reach,
        else every session."""
        order, firms, bounds, _, _ = self._by_firm
        start, stop = span
        rows = order[bounds[start] : bounds[stop]] if len(firms) else order[:0]
        cols = firms[start:stop]
        pos = self.pos[rows]
        lo, hi = (0, len(returns)) if reach is None else _reached(pos, reach, len(returns))
        return Chunk(
            returns[lo:hi, cols],
            np.repeat(np.arange(len(cols)), np.diff(bounds[start : stop + 1])),  # each event's firm in the chunk
            pos,
            rows,
            self.member[rows],
            lo,
        )
