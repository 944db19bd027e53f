"""The chunked engines' side of :func:`~eventstudy.core.engine.run_event_study`: the returns as
one array, the firm-events placed in them, the plan every chunk shares, and the run on threads
(:mod:`eventstudy.core.stream`) or on Dask (:mod:`eventstudy.core.distributed`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np
import pandas as pd

from . import stream
from .influence import caar_influence, draft_influence
from .intervals import caar_intervals, car_intervals
from .results import CarTable, EventStudyResult
from .runspec import Engine, Inputs, RunSpec
from .stream import kernel


def run(
    spec: RunSpec, inputs: Inputs, engine: Engine, keep_ar: bool, progress: Callable[[int], None] | None
) -> EventStudyResult:
    """The result of ``spec`` on ``inputs`` (checked by the caller), chunk by chunk; ``keep_ar``
    False leaves the per-day AR frame empty, ``progress`` is called with 1 for each chunk done."""
    # the influence table's numbers drafted beside the frames and tests, once the CARs are in place
    side = partial(draft_influence, lead=spec.lead) if spec.influence else None
    frames = _frames(spec, inputs, engine, keep_ar, progress, side)  # the passes' set-up let go before what follows
    table, drafted = frames.pop("table"), frames.pop("side")
    with ThreadPoolExecutor(1) as pool:  # each CAR's interval on a thread beside the groups' intervals and influence
        car = pool.submit(car_intervals, frames["car"]) if spec.intervals else None
        if spec.intervals:  # while the influence table's numbers are still drafted
            frames["intervals"] = caar_intervals(table, frames["tests"])
        if spec.influence:
            frames["influence"] = caar_influence(table, frames["tests"], spec.lead, drafted=drafted.result())
        if car is not None:
            frames["car"] = car.result()
    return EventStudyResult(
        model=spec.model, estimation=spec.estimation, windows=spec.windows, path=spec.path, engine=engine.name, **frames
    )


def _frames(
    spec: RunSpec,
    inputs: Inputs,
    engine: Engine,
    keep_ar: bool,
    progress: Callable[[int], None] | None,
    side: Callable[[CarTable], object] | None,
) -> dict[str, pd.DataFrame]:
    """What the two passes give (:func:`eventstudy.core.stream.finish.finish`): the tidy rows, the
    tests, the CAAR, each group's fitted firm-events, the table of CARs and ``side``'s result."""
    groups = {"all": inputs.events["event_id"]} if inputs.groups is None else inputs.groups
    loops = kernel.required(engine.compiled)
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
        side,
    )
    pos = setup.layout.pos
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
        bool(len(pos) and (pos != pos[0]).any()),  # events on more than one date
        keep_ar,
        tuple(s.name for s in spec.tests),
        loops,
    )
    return setup.run(plan, engine.name, engine.scheduler)


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
    side: Callable[[CarTable], object] | None

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
                side=self.side,
            )
        if engine == "dask":
            from . import distributed

            return distributed.run(plan, self.layout, self.returns, self.specs, self.chunk_size, scheduler, self.side)
        raise AssertionError(engine)  # checked by run_event_study
