"""The public names of eventstudy, as ``statsmodels.api`` is for statsmodels: ``import
eventstudy as es`` reaches each of them as ``es.NAME`` (loaded on first use, so that the
command line starts fast). Everything else is internal and may move between versions.

A study from its file:
    ``load_study``, ``with_overrides``, ``run_study`` (→ ``StudyResults`` or ``SampleResults``),
    ``run_placebo`` (→ ``PlaceboResults``).
The engine on your own frames:
    ``run_event_study`` (→ ``EventStudyResult``), ``build_events``, ``load_panel``,
    ``run_sample``, ``write_panel`` (a parquet panel for the Dask engine), ``Window``,
    ``TestSpec``, ``get_tests``.
Errors: ``EventStudyError`` and its kinds.
"""

from __future__ import annotations

import functools
import os

import pandas as pd

from .core import engine as _engine
from .core.inference import TestSpec, get_tests
from .core.results import EventStudyResult
from .core.windows import Window
from .data.files import DataSpec
from .data.panel import write_panel
from .errors import (
    CacheCorruptError,
    CalendarError,
    DataError,
    DataFileError,
    DownloadError,
    EventStudyError,
    NoFirmsLeftError,
    PlaceboError,
    PricesMissingError,
    StudyFileError,
)
from .study.checks import with_overrides
from .study.events import build_events
from .study.pipeline import run_study
from .study.placebo import PlaceboResults, run_placebo
from .study.results import SampleResults, StudyResults
from .study.sample import load_panel, run_sample
from .study.spec import Study
from .study.studyfile import load_study


@functools.wraps(_engine.run_event_study)
def run_event_study(returns: pd.DataFrame | str | os.PathLike, *args, **kwargs) -> EventStudyResult:
    if isinstance(returns, str | os.PathLike):  # the folder of a parquet panel: opened here, read by the workers
        from .data.panel import ParquetPanel

        returns = ParquetPanel.open(returns)
    return _engine.run_event_study(returns, *args, **kwargs)


__all__ = [
    "CacheCorruptError",
    "CalendarError",
    "DataError",
    "DataFileError",
    "DataSpec",
    "DownloadError",
    "EventStudyError",
    "EventStudyResult",
    "NoFirmsLeftError",
    "PlaceboError",
    "PlaceboResults",
    "PricesMissingError",
    "SampleResults",
    "Study",
    "StudyFileError",
    "StudyResults",
    "TestSpec",
    "Window",
    "build_events",
    "get_tests",
    "load_panel",
    "load_study",
    "run_event_study",
    "run_placebo",
    "run_sample",
    "run_study",
    "with_overrides",
    "write_panel",
]
