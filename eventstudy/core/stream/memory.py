"""The process's memory around a streamed run: the heap's free pages handed back after the passes
(:func:`trim_heap`), numpy's advice of huge pages left off where fresh memory is written once
(:func:`small_pages`), and tables of sums that start at zero written before they are read
(:func:`written_zeros`). They change only how fast the memory comes, never a number."""

from __future__ import annotations

import ctypes
from contextlib import contextmanager

import numpy as np

TRIM_EVENTS = 250_000
"""Firm-events from which a streamed run hands the heap's free pages back after its passes (before
the frames, the tests and the influence table are made): at 1,000,000 that is about 250 MB, while
on small runs the pages handed back only have to be faulted in again (10,000 firm-events took
about 20 ms longer with it)."""


def trim_heap() -> None:
    """Hand the pages malloc holds free back to the system (glibc's ``malloc_trim``; nothing where
    the C library has none). The passes leave the heap full of holes: each block's temporaries
    are freed around the small row arrays kept until the end, and glibc keeps those pages, so
    the frames, the tests and the influence table, made next on two threads (each with its own
    arena), would take fresh memory on top of them (about 250 MB at 1,000,000 firm-events;
    ``benchmarks/bench_large.py``)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc, or no C library to ask (Windows)
        return
    trim(0)


def written_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """Zeros (float64) whose pages are written at once, for a large table that sums are added into.
    ``np.zeros`` takes fresh pages the system maps only when first touched: where the first touch
    is the read of an addition, the page is mapped to the system's page of zeros, then copied at
    the write that follows, and the copy makes every core that runs a thread of this process flush
    its address cache (an interrupt to each). r̄'s sums by position of each chunk and the table
    they are added into took a thread about 50 ms so at 100,000 firm-events (a twentieth of the
    passes' time); written at once, each page is mapped once."""
    return np.full(shape, 0.0)


@contextmanager
def small_pages():
    """numpy's new arrays without its advice to back them with huge pages, meanwhile (numpy gives
    it for arrays of 4 MB or more; the caller's setting is back after). Where the system compacts
    its memory to find a huge page at the first write to one (Linux's default for memory so
    advised), each such page waits for it, and memory written once gains nothing from it: the
    result's blocks the passes place their rows into, all over each block (at 1,000,000
    firm-events, nine columns of 3,000,000 placed 50 chunks at a time: 0.57 s with the advice,
    0.25 s without), and the frames, the tests and the influence table made after the passes (the
    influence table's numbers: 1.0 s to draft with the advice, 0.6 s without; drafted again into
    the pages it had freed, 0.1 s). The passes' own arrays keep the advice: without it anywhere,
    the passes took 4.4-4.5 s against 3.7-4.4 s."""
    advise = huge_page_switch()
    before = advise(False) if advise is not None else None
    try:
        yield
    finally:
        if before is not None:
            advise(before)


def huge_page_switch():
    """numpy's switch of that advice (it returns the setting it replaces), or None where this numpy
    has none (it is private: the NUMPY_MADVISE_HUGEPAGE variable's setting, in code)."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy 1
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return None
    return _set_madvise_hugepage
