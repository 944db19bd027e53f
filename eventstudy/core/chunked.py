"""The chunked engines' side of :func:`~eventstudy.core.engine.run_event_study`: the returns as
one array, the firm-events placed in them, the plan every chunk shares, and the run on threads
(:mod:`eventstudy.core.stream`) or on Dask (:mod:`eventstudy.core.distributed`)."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import stream
from .influence import caar_influence
from .intervals import caar_intervals, car_intervals
from .results import EventStudyResult
from .runspec import Engine, Inputs, RunSpec
from .stream import kernel


def run(
    spec: RunSpec, inputs: Inputs, engine: Engine, keep_ar: bool, progress: Callable[[int], None] | None
) -> EventStudyResult:
    """The result of ``spec`` on ``inputs`` (checked by the caller), chunk by chunk; ``keep_ar``
    False leaves the per-day AR frame empty, ``progress`` is called with 1 for each chunk done."""
    frames = _frames(spec, inputs, engine, keep_ar, progress)  # the passes' set-up let go before what follows
    if len(inputs.events) >= TRIM_EVENTS:
        _trim_heap()
    table = frames.pop("table")
    if spec.influence:
        frames["influence"] = caar_influence(table, frames["tests"], spec.lead)
    if spec.intervals:
        frames["car"] = car_intervals(frames["car"])
        frames["intervals"] = caar_intervals(table, frames["tests"])
    return EventStudyResult(
        model=spec.model, estimation=spec.estimation, windows=spec.windows, path=spec.path, engine=engine.name, **frames
    )


def _frames(
    spec: RunSpec, inputs: Inputs, engine: Engine, keep_ar: bool, progress: Callable[[int], None] | None
) -> dict[str, pd.DataFrame]:
    """What the two passes give (:func:`eventstudy.core.stream.finish.finish`): the tidy rows, the
    tests, the CAAR, each group's fitted firm-events and the table of CARs."""
    groups = {"all": inputs.events["event_id"]} if inputs.groups is None else inputs.groups
    setup = _Chunked(
        inputs.returns,
        inputs.regressors[list(spec.model.needs)],
        inputs.events,
        groups,
        list(spec.tests),
        engine.chunk_size,
        engine.workers,
        keep_ar,
        progress,
    )
    plan = stream.Plan(
        spec.model,
        spec.estimation,
        spec.windows,
        spec.path,
        spec.grid,
        setup.x,
        spec.model.needs,
        tuple(groups),
        spec.min_estimation_obs,
        spec.other_events,
        len(np.unique(setup.layout.pos)) > 1,
        keep_ar,
        tuple(s.name for s in spec.tests),
        kernel.wanted(len(inputs.events)) if engine.compiled is None else kernel.required(engine.compiled),
    )
    return setup.run(plan, engine.name, engine.scheduler)


TRIM_EVENTS = 250_000
"""Firm-events from which a streamed run hands the heap's free pages back after its passes: at
1,000,000 that is about 250 MB, while on small runs the pages handed back only have to be
faulted in again (10,000 firm-events took about 20 ms longer with it)."""


def _trim_heap() -> None:
    """Hand the pages malloc holds free back to the system (glibc's ``malloc_trim``; nothing where
    the C library has none). The passes leave the heap full of holes: each block's temporaries
    are freed around the small row arrays kept until the end, and glibc keeps those pages, so
    the influence table and the intervals, made next, would take fresh memory on top of them
    (about 250 MB at 1,000,000 firm-events; ``benchmarks/bench_large.py``)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc, or no C library to ask (Windows)
        return
    trim(0)


@dataclass(frozen=True)
class _Chunked:
    """What the chunked engines need beyond the plan: the returns as one array, the firm-events
    placed in them, and how to run."""

    returns: pd.DataFrame
    regressors: pd.DataFrame
    events: pd.DataFrame
    groups: Mapping[str, Sequence[str]]
    specs: list
    chunk_size: int
    workers: int | None
    keep_ar: bool
    progress: Callable[[int], None] | None

    @property
    def index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.returns.index)

    @property
    def columns(self) -> pd.Index:
        return pd.Index(self.returns.columns)

    @property
    def x(self) -> np.ndarray:
        return self.regressors.reindex(self.index).to_numpy(dtype="float64")

    @cached_property
    def layout(self) -> stream.Layout:
        return stream.Layout.of(self.index, self.columns, self.events, self.groups)

    def run(self, plan: stream.Plan, engine: str, scheduler) -> dict[str, pd.DataFrame]:
        if engine == "stream":
            values = self.returns.to_numpy(dtype="float64")
            return stream.run(
                plan,
                self.layout,
                values,
                self.specs,
                self.index,
                chunk_size=self.chunk_size,
                workers=self.workers or os.cpu_count() or 1,
                progress=self.progress,
            )
        if engine == "dask":
            from . import distributed

            return distributed.run(plan, self.layout, self.returns, self.specs, self.chunk_size, scheduler)
        raise AssertionError(engine)  # checked by run_event_study
