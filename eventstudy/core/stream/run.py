"""Running the two passes over the chunks: on threads in this process (numpy's heavy steps release
the GIL), at most two chunks per worker in flight, the partial sums added as they come."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd

from ..._typing import Float64Array
from ..inference import TestSpec
from ..results import CarTable
from .finish import finish, placing, scar_scale
from .first_pass import Estimates, estimate
from .memory import TRIM_EVENTS, small_pages, trim_heap
from .plan import CHUNK_EVENTS, Chunk, Layout, Plan
from .second_pass import Partial, chunk_partial, scar_partial

_JOB: dict = {}  # what the workers read: the plan, the layout and the returns


def _chunk(span: tuple[int, int]) -> Chunk:
    """The chunk of ``span``, with the sessions its events reach."""
    plan, layout, returns = _JOB["plan"], _JOB["layout"], _JOB["returns"]
    return layout.chunk(returns, span, plan.reach)


def _first_pass(span: tuple[int, int]) -> tuple[Estimates, Partial]:
    chunk = _chunk(span)
    est = estimate(_JOB["plan"], chunk)
    return est, scar_partial(_JOB["plan"], chunk, est)


def _second_pass(job: tuple[tuple[int, int], Estimates, Float64Array | None]) -> Partial:
    span, est, scale = job
    return chunk_partial(_JOB["plan"], _chunk(span), est, scale)


def run_chunks(
    plan: Plan,
    layout: Layout,
    returns: Float64Array,
    size: int,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Partial:
    """Both passes over the chunks of ``size`` firm-events: the first estimates (running sums,
    CARs), the second computes the ARs of the grid and every sum. ``workers`` > 1 runs that
    many chunks at once, in threads; the sums are added in the chunks' order, so the result
    does not depend on timing.

    BLAS keeps to one thread meanwhile, as :func:`~eventstudy.core.engine.run_event_study` holds it
    for every engine: its products here are of one block of firm-events
    (:data:`~eventstudy.core.stream.second_pass.BLOCK`), too small to share, and OpenBLAS's own
    threads, two for each of the stream's on a 2-core machine, only took the cores from the
    other chunks (1,000,000 firm-events: the passes 7.6 s → 6.9 s with two workers, 10.9 s →
    8.9 s with one; the same numbers, as its products of this size are not split)."""
    spans = layout.spans(size, len(returns), plan.reach)
    _JOB.update(plan=plan, layout=layout, returns=returns)
    try:
        with _pool(min(workers, len(spans))) as pool, _turns(pool):
            kept, first = deque(), Partial()
            for est, partial in _bounded_map(pool, _first_pass, spans, workers):
                kept.append(est)
                first.add(partial)
            scale = scar_scale(first.sums) if "grank" in plan.tests else None
            fitted = np.ones(len(layout.pos), bool)  # the firm-events the first pass kept
            fitted[np.concatenate([est.dropped["order"] for est in kept])] = False
            out = Partial(frames=placing(plan, fitted))  # each chunk's rows written at their places as they come
            jobs = ((span, kept.popleft(), scale) for span in spans)  # each chunk's estimates let go once used
            for partial in _bounded_map(pool, _second_pass, jobs, workers):
                out.add(partial)
                if progress is not None:
                    progress(1)
    finally:
        _JOB.clear()
    return out


class _Serial:
    """A pool of no workers: runs each call at once."""

    def submit(self, fn, *args):
        from concurrent.futures import Future

        done = Future()
        done.set_result(fn(*args))
        return done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _pool(workers: int):
    """Threads: numpy's heavy steps release the GIL, and threads share the returns and the
    sums without copying them (forked processes measured slower: their partial sums must be
    pickled back)."""
    return ThreadPoolExecutor(workers) if workers > 1 else _Serial()


TURN = 0.001
"""Seconds a thread holds the GIL before it hands it over to another that waits (Python's switch
interval, 5 ms unless set) while the passes run on threads. The workers hold it between numpy's
steps and the main thread while it adds a chunk's sums and places its rows; a worker back from a
long step that released it waited up to the whole interval for it. At 1,000,000 firm-events the
run took 4.70-5.05 s with 1 ms against 5.04-5.34 s with 5 ms (three pairs in turns)."""


@contextmanager
def _turns(pool):
    """The switch interval :data:`TURN` (or the caller's, if shorter) while ``pool``'s threads run;
    the caller's after. Nothing changes without threads."""
    before = sys.getswitchinterval()
    if isinstance(pool, _Serial) or before <= TURN:
        yield
        return
    sys.setswitchinterval(TURN)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _bounded_map(pool, fn, items: Iterable, workers: int):
    """``map(fn, items)`` in order, at most 2 × ``workers`` items in flight: a worker that is
    done takes the next item while an earlier, longer one still runs, and only that many
    chunks' results wait in memory."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= 2 * max(workers, 1):
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def run(
    plan: Plan,
    layout: Layout,
    returns: Float64Array,
    specs: Sequence[TestSpec],
    index: pd.DatetimeIndex,
    *,
    chunk_size: int = CHUNK_EVENTS,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    side: Callable[[CarTable], object] | None = None,
) -> dict[str, pd.DataFrame]:
    """The result frames of the firm-events of ``layout``, streamed ``chunk_size`` at a time
    (``side``: :func:`~eventstudy.core.stream.finish.finish`'s)."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of firm-events; got {chunk_size!r}")
    parts = run_chunks(plan, layout, returns, chunk_size, workers, progress)
    if len(layout.pos) >= TRIM_EVENTS:
        trim_heap()
    with small_pages():
        return finish(plan, parts, specs, index, layout, side)
