"""What one run of the engine reads, is asked and how it runs: the small objects that the
in-memory and the chunked engines share (:class:`Inputs`, :class:`RunSpec`, :class:`Engine`), so
that a stage takes them, not a dozen arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .._typing import EngineName, IntArray
from .inference import TestSpec
from .models import Model
from .stream.plan import CHUNK_EVENTS
from .windows import Window


@dataclass(frozen=True)
class Engine:
    """How the core runs (see :func:`~eventstudy.core.engine.run_event_study`): ``name`` is
    ``auto`` (the default: chosen by the size of the run), ``memory``, ``stream`` or ``dask``;
    ``chunk_size``, ``workers`` and ``compiled`` for the chunked engines; ``scheduler`` for Dask (a
    client, an address, or None for a local cluster)."""

    name: EngineName = "auto"
    chunk_size: int = CHUNK_EVENTS
    workers: int | None = None
    scheduler: object = None
    compiled: bool | None = None

    def options(self) -> dict:
        return {
            "engine": self.name,
            "chunk_size": self.chunk_size,
            "workers": self.workers,
            "scheduler": self.scheduler,
            "compiled": self.compiled,
        }


AUTO = Engine()


@dataclass(frozen=True)
class Inputs:
    """What a run reads, checked: the returns (sessions × tickers, or a panel that reads itself),
    the regressors (sessions × the model's columns), the firm-events (``event_id, ticker,
    event_date``) and the groups (name → event_ids; None: one group ``all`` of every event)."""

    returns: object
    regressors: pd.DataFrame
    events: pd.DataFrame
    groups: Mapping[str, Sequence[str]] | None


@dataclass(frozen=True)
class RunSpec:
    """One run's design, checked: the model, its estimation window, event windows and path, the
    grid of relative days they need, the tests, the fewest estimation returns a firm-event needs,
    the span of a firm's other events left out of its estimation window (None: nothing left
    out), and whether to compute the influence diagnostics and the confidence intervals."""

    model: Model
    estimation: Window
    windows: tuple[Window, ...]
    path: Window
    grid: IntArray
    tests: tuple[TestSpec, ...]
    min_estimation_obs: int
    other_events: Window | None
    influence: bool
    intervals: bool = True

    @property
    def lead(self) -> str:
        """The test whose p-value the influence rule watches: Kolari–Pynnönen, robust to both
        cross-correlation and event-induced variance on one date and on many, when it is run."""
        return next((s.name for s in self.tests if s.correlation_apart and s.variance), self.tests[0].name)
