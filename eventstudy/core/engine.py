"""The pure core in one call: align → fit → abnormal returns → group tests → result.

:func:`run_event_study` takes firm-events (each with its own date), a session × ticker table of
returns and a session × factor table of regressors; it never touches disk or network. It checks
its inputs, makes one :class:`~eventstudy.core.runspec.RunSpec` of them, and hands it to the
in-memory engine (:mod:`.memory`) or the chunked ones (:mod:`.chunked`). :class:`Design` is a
study's design as the study layer runs it, again and again (a placebo's pseudo-events).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Integral

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from .._typing import EngineName, ModelName, TestName
from . import chunked, exclusions, memory, models
from .calendar import as_dates
from .inference import ONE_DATE_TESTS, get_tests
from .results import EventStudyResult
from .runspec import AUTO, Engine, Inputs, RunSpec
from .stream.plan import CHUNK_EVENTS
from .tables import count_of
from .windows import DEFAULT_ESTIMATION, DEFAULT_PATH, DEFAULT_WINDOWS, Window, as_window, event_grid

EXCLUDED_COLUMNS = exclusions.COLUMNS


def firm_events(tickers: Sequence[str], date: object) -> pd.DataFrame:
    """Firm-events for tickers that share one event date (event_id = ticker)."""
    return pd.DataFrame({"event_id": list(tickers), "ticker": list(tickers), "event_date": pd.Timestamp(date)})


@dataclass(frozen=True)
class Design:
    """A study's design as the core runs it: the firms' returns, the regressors, the groups and
    the model with its windows, and the engine that runs it. :meth:`run` takes firm-events; :meth:`at` puts every firm's
    event on one date (a study of one date, or a placebo's pseudo-event)."""

    returns: pd.DataFrame
    regressors: pd.DataFrame
    groups: Mapping[str, Sequence[str]] | None = None
    model: ModelName = "market"
    estimation: Window = DEFAULT_ESTIMATION
    windows: tuple[Window, ...] = DEFAULT_WINDOWS
    path: Window = DEFAULT_PATH
    min_estimation_obs: int = 120
    exclude_other_events: bool = True
    engine: Engine = AUTO
    influence: bool = True
    intervals: bool = True
    keep_ar: bool = True

    def tests_only(self) -> Design:
        """The design for runs read for their tests alone (a placebo's draws): no influence
        diagnostics, no intervals, no per-day AR frame (the chunked engines then skip it)."""
        return replace(self, influence=False, intervals=False, keep_ar=False)

    def run(self, events: pd.DataFrame) -> EventStudyResult:
        return run_event_study(
            self.returns,
            self.regressors,
            events,
            model=self.model,
            estimation=self.estimation,
            windows=self.windows,
            path=self.path,
            min_estimation_obs=self.min_estimation_obs,
            groups=self.groups,
            exclude_other_events=self.exclude_other_events,
            influence=self.influence,
            intervals=self.intervals,
            keep_ar=self.keep_ar,
            **self.engine.options(),
        )

    def at(self, date: object) -> EventStudyResult:
        return self.run(firm_events(list(self.returns.columns), date))


def run_event_study(
    returns: pd.DataFrame,
    regressors: pd.DataFrame,
    events: pd.DataFrame,
    *,
    model: ModelName = "market",
    estimation: Window = DEFAULT_ESTIMATION,
    windows: Sequence[Window] = DEFAULT_WINDOWS,
    path: Window = DEFAULT_PATH,
    min_estimation_obs: int = 120,
    groups: Mapping[str, Sequence[str]] | None = None,
    tests: list[TestName] | None = None,
    exclude_other_events: bool = True,
    engine: EngineName = "auto",
    chunk_size: int = CHUNK_EVENTS,
    workers: int | None = None,
    keep_ar: bool = True,
    scheduler: object = None,
    progress: Callable[[int], None] | None = None,
    influence: bool = True,
    intervals: bool = True,
    compiled: bool | None = None,
) -> EventStudyResult:
    """Estimate ARs, CARs and group tests for ``events`` (``event_id, ticker, event_date``).

    ``returns`` is sessions × tickers (NaN = missing, never filled), ``regressors`` sessions ×
    the model's columns (``mkt`` for the market and market-adjusted models; ``mkt_rf, smb, hml,
    [rmw, cma | mom], rf`` for the factor models), in decimals; a Series is the market
    return. Windows may be :class:`Window` objects or ``(start, end)`` pairs. ``groups`` maps a
    group name to event_ids (default: one group ``all``); an id that is no event is an error. A
    firm-event with fewer valid estimation returns than ``min_estimation_obs`` is excluded with
    its reason. With ``exclude_other_events`` (the default) a firm's estimation window leaves
    out the days of its other events' windows and path (``n_removed`` in ``events``). When the
    events fall on different dates, the calendar-time portfolio test and GRANK join the tests.

    ``engine`` chooses how: ``"auto"`` (the default) picks one (:func:`choose_engine`, and says so in
    the result's ``engine`` and ``engine_reason``); ``"memory"`` holds every firm-event's returns at once (N × days);
    ``"stream"`` (:mod:`eventstudy.core.stream`) works through chunks of whole firms, ``chunk_size``
    firm-events each, ``workers`` chunks at a time (threads; default: the machine's cores), and adds their partial
    sums, so memory is bounded by the chunk; ``"dask"`` (:mod:`eventstudy.core.distributed`, ``pip
    install 'eventstudy-workbench[dask]'``) runs the same chunks on a Dask ``scheduler`` (a
    ``distributed.Client``, a scheduler address, or None for a local cluster), and ``returns``
    may then be the folder of a parquet panel (:func:`eventstudy.data.panel.write_panel`). They agree to
    1e-10 on every statistic but Kolari–Pynnönen's r̄ where residuals have missing days or the
    events fall on different dates: there the chunked engines take the sum identity (O(N·days),
    within about 10⁻³ of the pairwise r̄). ``keep_ar=False`` leaves the per-day ``ar`` frame
    empty (at a million firm-events it is tens of millions of rows). ``progress`` is called
    with 1 for each chunk done. ``compiled``: whether the chunked engines run their heaviest loops
    compiled (:mod:`eventstudy.core.stream.kernel`: C, built when the package was installed where
    a C compiler is), which changes the time, never a number: None (the default) when they were
    built, True always (an ImportError when they were not), False never.

    ``influence`` (default True) adds every event's leave-one-out diagnostics per group and
    window (:func:`eventstudy.core.influence.caar_influence`): the in-memory engine recomputes the lead
    test without each event that could decide it; the chunked engines give the diagnostics of
    the CARs only. ``intervals`` (default True) adds the confidence intervals of every CAR and CAAR
    (:mod:`eventstudy.core.intervals`); False leaves them out (a placebo's draws read only the tests).

    Every engine runs with numpy's BLAS held to one thread (the caller's setting is back after): on
    more threads OpenBLAS splits a large product and adds its parts in another order, so a result's
    last bits would depend on the machine's cores (on two threads an 800-firm sample's every frame
    moved in its last bits, the GARCH model's fits in their 7th digit, as arch's optimizer ends
    elsewhere, and one placebo draw of deepseek-2025's r̄). Threads did not pay here: 2,000 and
    10,000 firm-events took 0.23-0.25 s and 1.0-1.2 s in memory either way.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {list(ENGINES)}")
    model_spec = models.get_model(model)
    reason = ""
    if engine == "auto":
        engine, reason = choose_engine(returns, events, model_spec)
    if isinstance(returns, str | os.PathLike):
        raise TypeError(
            f"returns given as a path ({returns}): open the panel first (eventstudy.run_event_study does, "
            "or eventstudy.data.panel.ParquetPanel.open)"
        )
    if not isinstance(returns, pd.DataFrame) and engine != "dask":
        raise ValueError("returns given as a parquet panel need engine='dask'")
    if isinstance(returns, pd.DataFrame):
        returns = _dated(returns, "returns")
    if model_spec.fitter and engine != "memory":
        raise ValueError(f"the {model} model is fitted firm by firm: it runs on engine='memory', not {engine!r}")
    regressors = models.with_shifted_market(_dated(_as_regressors(regressors), "regressors"), model_spec)
    missing_cols = sorted(set(model_spec.needs) - set(regressors.columns))
    if missing_cols:
        raise ValueError(f"model {model!r} needs regressor columns {missing_cols}; got {list(regressors.columns)}")
    events = _as_events(events)
    estimation, path = as_window(estimation, "estimation"), as_window(path, "path")
    if not isinstance(min_estimation_obs, Integral) or not 0 < min_estimation_obs <= estimation.length:
        raise ValueError(
            f"min_estimation_obs must be a number of sessions from 1 to {estimation.length}, the sessions of the "
            f"estimation window [{estimation.start}, {estimation.end}]; got {min_estimation_obs!r} (the default is "
            "120: set it for a shorter window)"
        )
    windows = tuple(as_window(w) for w in windows)
    span = Window(min(w.start for w in (*windows, path)), max(w.end for w in (*windows, path)))
    one_date = _one_date(events["event_date"])
    spec = RunSpec(
        model=model_spec,
        estimation=estimation,
        windows=windows,
        path=path,
        grid=event_grid(estimation, windows, path),
        tests=tuple(get_tests(tests if tests is not None else (ONE_DATE_TESTS if one_date else None))),
        min_estimation_obs=min_estimation_obs,
        other_events=span if exclude_other_events else None,
        influence=influence,
        intervals=intervals,
    )
    inputs = Inputs(returns, regressors, events, None if groups is None else _checked_groups(groups, events))
    with _blas().limit(limits=1, user_api="blas"):
        if engine == "memory":
            result = memory.run(spec, inputs)
        else:
            options = Engine(engine, chunk_size, workers, scheduler, compiled)
            result = chunked.run(spec, inputs, options, keep_ar, progress)
    return replace(result, engine_reason=reason) if reason else result


@functools.cache
def _blas() -> ThreadpoolController:
    """threadpoolctl's handle on the BLAS libraries this process has loaded, found once: looking
    them up again at every run took 0.6 ms (3 ms the first time), and a placebo runs a study for
    each of its draws. numpy and scipy have loaded theirs by the time a study runs; a BLAS a
    program loads later keeps its own threads."""
    return ThreadpoolController()


ENGINES = ("auto", "memory", "stream", "dask")
# up to this many firm-events the automatic choice runs in memory: exact r̄ over common days, the lead
# test recomputed without each event and every test (Corrado–Zivney, the firm-by-firm models), in at
# most a few seconds; above it the streamed engine, faster and bounded in memory (measured with
# benchmarks/bench_samples.py's panels, 0.1 % missing: 1,000 events 0.9–1.1 s in memory against
# 0.4 s streamed; 2,000: 2.0–2.9 s against 0.3–0.4 s; 5,000: 1.6–5.7 s against 0.4–0.5 s; 20,000:
# 8–42 s against 1.1–1.4 s)
AUTO_MEMORY_EVENTS = 2000


def choose_engine(returns, events: pd.DataFrame, model: models.Model) -> tuple[str, str]:
    """The engine ``engine="auto"`` runs, and why: a parquet panel needs Dask; a model fitted firm
    by firm, or at most :data:`AUTO_MEMORY_EVENTS` firm-events, the in-memory engine; more, the
    streamed one."""
    n = len(events)
    if not isinstance(returns, pd.DataFrame):
        return "dask", "chosen automatically: the returns are a parquet panel"
    if model.fitter:
        return "memory", f"chosen automatically: the {model.name} model is fitted firm by firm"
    if n <= AUTO_MEMORY_EVENTS:
        return "memory", f"chosen automatically: {n:,} firm-events, at most {AUTO_MEMORY_EVENTS:,} run in memory"
    return "stream", f"chosen automatically: {n:,} firm-events, more than {AUTO_MEMORY_EVENTS:,} are streamed"


def _as_regressors(regressors: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(regressors, pd.Series):
        return regressors.rename("mkt").to_frame()
    if not isinstance(regressors, pd.DataFrame):
        raise TypeError(
            f"regressors must be a DataFrame of sessions × factors, or a Series; got {type(regressors).__name__}"
        )
    return regressors


def _dated(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` with its rows in calendar order, checked to be one row per date: positions are
    counted in rows, so a frame newest-first (as many exports come) is sorted, never read
    backwards. Its index must be dates (:func:`~eventstudy.core.calendar.as_dates`), none missing,
    none twice."""
    index = as_dates(frame.index, f"{what}' dates")
    if index.hasnans:
        raise ValueError(f"{what} have a row without a date (NaT)")
    twice = index[index.duplicated()]
    if len(twice):
        raise ValueError(f"{what} have {count_of(len(twice), 'date')} more than once (first {twice[0]:%Y-%m-%d})")
    frame = frame if index is frame.index else frame.set_axis(index)
    return frame if index.is_monotonic_increasing else frame.sort_index()


def _one_date(dates: pd.Series) -> bool:
    """Whether the event dates given (missing ones aside) are one date, or none: each compared with
    the first, not counted by a hash of them all (16 ms at 1,000,000 firm-events)."""
    days = dates.to_numpy(dtype="datetime64[ns]")
    days = days[~np.isnat(days)]
    return not len(days) or bool((days == days[0]).all())


def _as_events(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` checked, day 0 as dates (:func:`~eventstudy.core.calendar.as_dates`;
    eventstudy.build_events sets it from the news' date and time)."""
    need = ["event_id", "ticker", "event_date"]
    if not isinstance(events, pd.DataFrame) or set(need) - set(events.columns):
        got = list(events.columns) if isinstance(events, pd.DataFrame) else type(events).__name__
        raise ValueError(
            f"events must be a DataFrame with columns {need} (eventstudy.build_events makes one); got {got}"
        )
    days = as_dates(events["event_date"], "the event dates (event_date)")
    if pd.api.types.is_datetime64_dtype(events["event_date"]):
        return events
    return events.assign(event_date=days.to_numpy())


def _checked_groups(groups: Mapping[str, Sequence[str]], events: pd.DataFrame) -> Mapping[str, Sequence[str]]:
    """``groups``, each id checked to be an event's. Looked up in the events' index (a hash table
    made once): pandas 3's ``isin`` on its strings took 0.3 s a group at 100,000 firm-events, most
    of a streamed run's time with seven groups."""
    known = pd.Index(events["event_id"])
    for name, ids in groups.items():
        ids = pd.Index(list(ids))
        unknown = ids[known.get_indexer_for(ids) < 0]
        if len(unknown):
            raise ValueError(
                f"group {name!r} names {len(unknown)} id(s) that are no event_id of the events: "
                f"{list(unknown[:5])} (groups list event_ids, not tickers, unless they coincide)"
            )
    return groups
