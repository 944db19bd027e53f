"""Running a placebo's draws: in this process, over processes of this machine, or over the
workers of a Dask cluster.

Each draw is computed whole, by one worker, from the design and the draw's own firm-events (a
pseudo-event date for every firm, or a sample shifted in calendar time), which the worker makes
from the draw's date or shift (:data:`EventsOf`: :class:`OnePseudoDate`, :class:`Shifted`; the
draws in flight hold a few numbers each, not a sample's firm-events each); nothing random
happens inside a draw (the dates and shifts are drawn before, from the study's seed, and the
permutation test's draws are seeded by the data's shape alone). The draws come back in their
order, so the numbers are the same, bit for bit, whatever the number of workers.

Processes, not threads: a draw is many small pandas and numpy steps that hold the GIL (two
threads measured slower than one). On Linux the workers are forked, so they start with the
design already in memory.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import pandas as pd

from .._typing import BoolArray, IntArray
from ..core.engine import Design, firm_events

DRAW_COLUMNS = ["draw", "date", "offset", "group", "window", "test", "robust", "stat", "p", "n_firms"]
FEW_DRAWS = 8  # fewer draws than this run in this process: starting workers would cost more


@dataclass(frozen=True)
class Draw:
    """One draw: its number (from 1), the pseudo-event date (NaT for a shifted sample), the
    sessions the event or the sample was moved by, and a label for the progress."""

    k: int
    date: pd.Timestamp
    offset: int
    label: str


class EventsOf(Protocol):
    """A draw's firm-events (picklable: it travels to the workers), at most ``len()`` of them."""

    def __call__(self, draw: Draw) -> pd.DataFrame: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class OnePseudoDate:
    """A one-date placebo's firm-events of a draw: every firm's event on the draw's date."""

    tickers: tuple[str, ...]

    def __call__(self, draw: Draw) -> pd.DataFrame:
        return firm_events(list(self.tickers), draw.date)

    def __len__(self) -> int:
        return len(self.tickers)


@dataclass(frozen=True)
class Shifted:
    """A shifted sample's firm-events of a draw: every event moved by the draw's shift around the
    ring of ``size`` sessions from ``first`` (``pos``: each event's session; ``firm``: its firm's
    code), less those whose moved windows come within ``reach`` sessions of their firm's own."""

    events: pd.DataFrame
    days: pd.DatetimeIndex
    pos: IntArray
    firm: IntArray
    first: int
    size: int
    reach: int

    def moved(self, shift: int) -> IntArray:
        return self.first + (self.pos - self.first + shift) % self.size

    def touching(self, shift: int) -> BoolArray:
        return self._real.near(self.firm, self.moved(shift))

    @functools.cached_property
    def _real(self) -> RealEvents:
        return RealEvents.of(self.firm, self.pos, self.reach, self.first + self.size)

    def __call__(self, draw: Draw) -> pd.DataFrame:
        return self.events.assign(event_date=self.days[self.moved(draw.offset)])[~self.touching(draw.offset)]

    def __len__(self) -> int:
        return len(self.events)


@dataclass(frozen=True)
class RealEvents:
    """The firms' real events ordered by firm and session, as keys firm · ``span`` + session
    (``span`` wider than any session and ``reach``, so firms' keys never meet), sorted once for
    every draw."""

    keys: IntArray
    span: int
    reach: int

    @classmethod
    def of(cls, firm: IntArray, real: IntArray, reach: int, last: int) -> RealEvents:
        """``firm``: each event's firm code; ``real``: its session; ``last``: past any session
        an event is moved to."""
        span = int(max(real.max(initial=0), last)) + 2 * reach + 2
        return cls(np.sort(firm.astype(np.int64) * span + real), span, reach)

    def near(self, firm: IntArray, moved: IntArray) -> BoolArray:
        """Which moved events (``moved``: each one's new session) lie within ``reach`` sessions
        of a real event of their firm: the nearest real events of the firm on either side."""
        if not len(self.keys):
            return np.zeros(len(moved), bool)
        at = firm.astype(np.int64) * self.span + moved
        i = np.searchsorted(self.keys, at)
        near = np.zeros(len(at), bool)
        for j in (i - 1, i):  # the real event just before and just after, if of the same firm
            ok = (j >= 0) & (j < len(self.keys))
            other = self.keys[np.clip(j, 0, len(self.keys) - 1)]
            near |= ok & (other // self.span == at // self.span) & (np.abs(other - at) <= self.reach)
        return near


def draw_tests(design: Design, events_of: EventsOf, draw: Draw) -> pd.DataFrame:
    """The draw's test rows (:data:`DRAW_COLUMNS`). The groups keep the draw's events: a shifted
    sample sets aside the events whose moved windows touch their firm's own."""
    events = events_of(draw)
    if design.groups is not None:
        ids = pd.Index(events.event_id)
        design = replace(design, groups={g: [i for i in members if i in ids] for g, members in design.groups.items()})
    tests = design.run(events).tests
    return tests.assign(draw=draw.k, date=draw.date, offset=draw.offset)[DRAW_COLUMNS]


def run_draws(
    design: Design,
    events_of: EventsOf,
    draws: Sequence[Draw],
    *,
    workers: int | None = None,
    scheduler: object = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> pd.DataFrame:
    """Every draw's test rows (its firm-events from ``events_of``), in the draws' order. With a
    Dask ``scheduler`` (a client, an address, or ``"local"`` for a cluster of this machine) the
    draws go to its workers; else to ``workers`` processes (default: the machine's cores; 1, or
    fewer than :data:`FEW_DRAWS` draws: this process). A draw runs the core on the design's
    engine (by default chosen by the draw's size), with the compiled loops where they were built
    (:mod:`eventstudy.core.stream.kernel`)."""
    if not draws:
        return pd.DataFrame(columns=DRAW_COLUMNS)
    n = min(workers or os.cpu_count() or 1, len(draws))
    if scheduler is not None:
        results = _on_dask(_one_thread(design), events_of, draws, scheduler)
    elif n < 2 or len(draws) < FEW_DRAWS:
        results = _here(design, events_of, draws)
    else:
        results = _in_processes(_one_thread(design), events_of, draws, n)
    frames = []
    for k, frame in enumerate(results, 1):
        frames.append(frame)
        if progress:
            progress(k, len(draws), draws[k - 1].label)
    return pd.concat(frames, ignore_index=True)


def _one_thread(design: Design) -> Design:
    """The design for a worker among others: the streamed core on one thread (unless the design
    names its threads), since the workers already share the cores; two processes of two threads
    each were slower than two of one on two cores."""
    if design.engine.workers is not None:
        return design
    return replace(design, engine=replace(design.engine, workers=1))


def _here(design: Design, events_of: EventsOf, draws: Sequence[Draw]) -> Iterator[pd.DataFrame]:
    return (draw_tests(design, events_of, d) for d in draws)


_SHARED: list = []  # a worker process's design and maker of firm-events, set once when it starts


def _adopt(design: Design, events_of: EventsOf) -> None:
    """A worker's start: the design kept, Ctrl-C left to the parent (which ends the workers), and
    numpy's BLAS held to one thread (two workers with two BLAS threads each on two cores were
    a third slower)."""
    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(1)
    _SHARED[:] = [design, events_of]


def _draw_in_worker(draw: Draw) -> pd.DataFrame:
    return draw_tests(*_SHARED, draw)


def _in_processes(design: Design, events_of: EventsOf, draws: Sequence[Draw], workers: int) -> Iterator[pd.DataFrame]:
    """The draws on ``workers`` processes, in order; the workers are ended at once when the
    caller stops early (Ctrl-C, an error), not after the draws already handed out. A draw is
    handed out alone: a worker takes the next as soon as it is free, so none waits at the end
    while another finishes a batch (batches of 12 draws of 3 s each left a core idle for up to
    half a minute at the end of 200 draws of 100,000 firm-events; a draw's few hundred test rows
    cost far less to send than that)."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = multiprocessing.get_context(method).Pool(workers, _adopt, (design, events_of))
    done = False
    try:
        yield from pool.imap(_draw_in_worker, draws)
        done = True
    finally:
        if done:
            pool.close()
        else:
            pool.terminate()
        pool.join()


def _on_dask(design: Design, events_of: EventsOf, draws: Sequence[Draw], scheduler) -> Iterator[pd.DataFrame]:
    from ..core.distributed import connect

    client, cluster = connect(None if scheduler == "local" else scheduler)
    try:
        shared, maker = client.scatter([design, events_of], broadcast=True)
        futures = client.map(draw_tests, [shared] * len(draws), [maker] * len(draws), draws, pure=False)
        for future in futures:
            yield future.result()
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
