"""The pure core in one call: align → fit → abnormal returns → group tests → result.

:func:`run_event_study` takes firm-events (each with its own date), a session × ticker table of
returns and a session × factor table of regressors; it never touches disk or network.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .._typing import EngineName, ModelName, TestName
from . import abnormal, exclusions, models, stream
from .inference import ONE_DATE_TESTS, TEST_COLUMNS, get_tests, test_row
from .inference.rank import standardized_ranks
from .inference.rbar import calendar_residuals, group_rbar, overlap_estimate
from .inference.sample import Sample, column_mean
from .influence import INFLUENCE_COLUMNS, caar_influence
from .intervals import caar_intervals, car_intervals
from .results import EventStudyResult, caar_frame
from .windows import (
    DEFAULT_ESTIMATION,
    DEFAULT_PATH,
    DEFAULT_WINDOWS,
    Aligned,
    Window,
    align,
    as_slice,
    as_window,
    event_grid,
)

EXCLUDED_COLUMNS = exclusions.COLUMNS


def firm_events(tickers: Sequence[str], date: object) -> pd.DataFrame:
    """Firm-events for tickers that share one event date (event_id = ticker)."""
    return pd.DataFrame({"event_id": list(tickers), "ticker": list(tickers), "event_date": pd.Timestamp(date)})


@dataclass(frozen=True)
class Engine:
    """How the core runs (see :func:`run_event_study`): ``name`` is ``memory``, ``stream`` or
    ``dask``; ``chunk_size`` and ``workers`` for the chunked engines; ``scheduler`` for Dask (a
    client, an address, or None for a local cluster)."""

    name: EngineName = "memory"
    chunk_size: int = stream.CHUNK_EVENTS
    workers: int | None = None
    scheduler: object = None

    def options(self) -> dict:
        return {
            "engine": self.name,
            "chunk_size": self.chunk_size,
            "workers": self.workers,
            "scheduler": self.scheduler,
        }


IN_MEMORY = Engine()


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
    engine: Engine = IN_MEMORY
    influence: bool = True

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
    engine: EngineName = "memory",
    chunk_size: int = stream.CHUNK_EVENTS,
    workers: int | None = None,
    keep_ar: bool = True,
    scheduler: object = None,
    progress: Callable[[int], None] | None = None,
    influence: bool = True,
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

    ``engine`` chooses how: ``"memory"`` holds every firm-event's returns at once (N × days);
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
    with 1 for each chunk done.

    ``influence`` (default True) adds every event's leave-one-out diagnostics per group and
    window (:func:`eventstudy.core.influence.caar_influence`): the in-memory engine recomputes the lead
    test without each event that could decide it; the chunked engines give the diagnostics of
    the CARs only.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {list(ENGINES)}")
    if isinstance(returns, str | os.PathLike):
        raise TypeError(
            f"returns given as a path ({returns}): open the panel first (eventstudy.run_event_study does, "
            "or eventstudy.data.panel.ParquetPanel.open)"
        )
    if not isinstance(returns, pd.DataFrame) and engine != "dask":
        raise ValueError("returns given as a parquet panel need engine='dask'")
    spec = models.get_model(model)
    regressors = _as_regressors(regressors)
    missing_cols = sorted(set(spec.needs) - set(regressors.columns))
    if missing_cols:
        raise ValueError(f"model {model!r} needs regressor columns {missing_cols}; got {list(regressors.columns)}")
    events = _as_events(events)
    estimation, path = as_window(estimation, "estimation"), as_window(path, "path")
    windows = tuple(as_window(w) for w in windows)
    grid = event_grid(estimation, windows, path)
    span = Window(min(w.start for w in (*windows, path)), max(w.end for w in (*windows, path)))
    one_date = pd.DatetimeIndex(events["event_date"]).nunique() <= 1
    specs = get_tests(tests if tests is not None else (ONE_DATE_TESTS if one_date else None))
    if engine != "memory":
        groups = {"all": events["event_id"]} if groups is None else _checked_groups(groups, events)
        setup = _Chunked(
            returns, regressors[list(spec.needs)], events, groups, specs, chunk_size, workers, keep_ar, progress
        )
        plan = stream.Plan(
            spec,
            estimation,
            windows,
            path,
            grid,
            setup.x,
            spec.needs,
            tuple(groups),
            min_estimation_obs,
            span if exclude_other_events else None,
            len(np.unique(setup.layout.pos)) > 1,
            keep_ar,
            tuple(s.name for s in specs),
        )
        frames = setup.run(plan, engine, scheduler)
        if influence:
            frames["influence"] = caar_influence(frames["car"], frames["groups"], frames["tests"], _lead(specs))
        frames["car"] = car_intervals(frames["car"])
        frames["intervals"] = caar_intervals(frames["car"], frames["groups"], frames["tests"])
        return EventStudyResult(model=spec, estimation=estimation, windows=windows, path=path, engine=engine, **frames)
    aligned, excluded = align(
        returns,
        regressors[list(spec.needs)],
        events,
        estimation=estimation,
        grid=grid,
        other_events=span if exclude_other_events else None,
    )
    fit = models.fit(aligned, model=spec)
    aligned, fit, dropped = _usable(aligned, fit, min_estimation_obs)
    ab = abnormal.compute(fit, aligned, windows)
    groups = {"all": aligned.event_ids} if groups is None else _checked_groups(groups, events)
    members = {g: _kept(aligned, ids) for g, ids in groups.items()}
    ranks = standardized_ranks(ab.ar)
    car, tests = car_intervals(_car_frame(aligned, ab)), _tests_frame(aligned, ab, members, specs, ranks)
    return EventStudyResult(
        model=spec,
        estimation=estimation,
        windows=windows,
        path=path,
        events=_events_frame(aligned, fit),
        ar=_ar_frame(aligned, ab, path),
        car=car,
        tests=tests,
        caar=_caar_frame(aligned, ab, members, path),
        excluded=exclusions.table([excluded, dropped, _incomplete(aligned, ab)]),
        groups=members,
        influence=_influence(aligned, ab, members, specs, ranks, car, tests) if influence else _NO_INFLUENCE,
        intervals=caar_intervals(car, members, tests),
    )


_NO_INFLUENCE = pd.DataFrame(columns=INFLUENCE_COLUMNS)


def _lead(specs) -> str:
    """The test whose p-value the influence rule watches: Kolari–Pynnönen, robust to both
    cross-correlation and event-induced variance on one date and on many, when it is run."""
    return next((s.name for s in specs if s.correlation_apart and s.variance), specs[0].name)


def _influence(aligned, ab, members, specs, ranks, car, tests) -> pd.DataFrame:
    """:func:`~eventstudy.core.influence.caar_influence` with the lead test recomputed, r̄ included,
    on the group without each event that could decide it."""
    lead = next(s for s in specs if s.name == _lead(specs))
    labels = [w.label for w in ab.windows]

    def recompute(group: str, event: str) -> dict[str, float]:
        rows = _rows(aligned, [e for e in members[group] if e != event])
        return {w: lead.func(s).pvalue for w, s in zip(labels, _samples(aligned, ab, ranks, rows), strict=True)}

    return caar_influence(car, members, tests, lead.name, recompute)


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


ENGINES = ("memory", "stream", "dask")


def _as_regressors(regressors: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(regressors, pd.Series):
        return regressors.rename("mkt").to_frame()
    if not isinstance(regressors, pd.DataFrame):
        raise TypeError(
            f"regressors must be a DataFrame of sessions × factors, or a Series; got {type(regressors).__name__}"
        )
    return regressors


def _as_events(events: pd.DataFrame) -> pd.DataFrame:
    need = ["event_id", "ticker", "event_date"]
    if not isinstance(events, pd.DataFrame) or set(need) - set(events.columns):
        got = list(events.columns) if isinstance(events, pd.DataFrame) else type(events).__name__
        raise ValueError(
            f"events must be a DataFrame with columns {need} (eventstudy.build_events makes one); got {got}"
        )
    return events


def _checked_groups(groups: Mapping[str, Sequence[str]], events: pd.DataFrame) -> Mapping[str, Sequence[str]]:
    known = pd.Index(events["event_id"])
    for name, ids in groups.items():
        ids = pd.Index(list(ids))
        unknown = ids[~ids.isin(known)]
        if len(unknown):
            raise ValueError(
                f"group {name!r} names {len(unknown)} id(s) that are no event_id of the events: "
                f"{list(unknown[:5])} (groups list event_ids, not tickers, unless they coincide)"
            )
    return groups


def _usable(aligned: Aligned, fit: models.ModelFit, need: int):
    """Keep the firm-events with enough estimation returns and a proper fit; list the rest."""
    need = max(need, fit.model.k + 3)
    enough = fit.n_obs >= need
    ok = enough & np.isfinite(fit.params).all(axis=1) & np.isfinite(fit.sigma2) & (fit.sigma2 > 0)
    removed = aligned.removed[~ok] if aligned.removed is not None else np.zeros((~ok).sum(), int)
    out = exclusions.estimation(
        aligned.event_ids[~ok], aligned.tickers[~ok], fit.n_obs[~ok], removed, enough[~ok], aligned.estimation, need
    )
    if ok.all():
        return aligned, fit, out
    fit = fit.take(np.flatnonzero(ok))
    return aligned.subset(ok), fit, out


def _incomplete(aligned: Aligned, ab: abnormal.AbnormalReturns) -> pd.DataFrame:
    """Firm-events without a CAR in a window, and why: the firm's return or the model's
    regressors (a benchmark or factor series) are missing on the days named."""
    rows = []
    for j, w in enumerate(ab.windows):
        for i in np.flatnonzero(ab.n_missing[:, j]):
            gap = aligned.in_window(w) & ~np.isfinite(ab.ar[i])
            no_x = ~np.isfinite(aligned.factors[aligned.cluster[i]])
            why = exclusions.missing_days(
                aligned.grid,
                gap & ~np.isfinite(aligned.y[i]),
                {name: gap & no_x[:, k] for k, name in enumerate(aligned.factor_names)},
            )
            rows.append((aligned.event_ids[i], aligned.tickers[i], f"window {w.label}", why))
    return pd.DataFrame(rows, columns=EXCLUDED_COLUMNS)


def _events_frame(aligned: Aligned, fit: models.ModelFit) -> pd.DataFrame:
    names = ["alpha", *fit.model.columns] if fit.model.estimated else ["mean_adjustment"]
    frame = pd.DataFrame(
        {
            "event_id": aligned.event_ids,
            "ticker": aligned.tickers,
            "event_date": aligned.event_dates,
            "n_est": fit.n_obs,
            "n_removed": aligned.removed if aligned.removed is not None else 0,
            "sigma": np.sqrt(fit.sigma2),
        }
    )
    params = pd.DataFrame(fit.params, columns=[n if n != "mkt" else "beta" for n in names])
    return pd.concat([frame, params], axis=1)


def _ar_frame(aligned: Aligned, ab: abnormal.AbnormalReturns, path: Window) -> pd.DataFrame:
    inside = aligned.in_window(path)
    n, g = len(aligned.event_ids), int(inside.sum())
    ar, se = ab.ar[:, inside], np.sqrt(ab.var_ar[:, inside])
    with np.errstate(invalid="ignore", divide="ignore"):
        sar = ar / se
    return pd.DataFrame(
        {
            "event_id": aligned.event_ids.repeat(g),
            "ticker": aligned.tickers.repeat(g),
            "day": np.tile(aligned.grid[inside], n),
            "date": aligned.cluster_dates[:, inside][aligned.cluster].ravel(),
            "ar": ar.ravel(),
            "se": se.ravel(),
            "sar": sar.ravel(),
            "car": np.cumsum(ar, axis=1).ravel(),
        }
    )


def _car_frame(aligned: Aligned, ab: abnormal.AbnormalReturns) -> pd.DataFrame:
    n, w = ab.car.shape
    return pd.DataFrame(
        {
            "event_id": aligned.event_ids.repeat(w),
            "ticker": aligned.tickers.repeat(w),
            "window": pd.Index([x.label for x in ab.windows]).take(np.tile(np.arange(w), n)),
            "car": ab.car.ravel(),
            "se": ab.se_car.ravel(),
            "t": ab.t.ravel(),
            "p": ab.p.ravel(),
            "dof": np.repeat(ab.dof, w),
            "n_est": np.repeat(ab.est_mask.sum(axis=1), w),
            "n_missing": ab.n_missing.ravel(),
        }
    )


def _samples(aligned: Aligned, ab: abnormal.AbnormalReturns, ranks, rows: np.ndarray) -> list[Sample]:
    """One test input per window: the firm-events ``rows`` with a CAR in that window. The
    window-independent parts are computed once per distinct set of firms, r̄ of events on one
    date once for the group (all its firm-events, whatever window they have a CAR in);
    ``ranks`` (every firm-event's standardized ranks) once for all groups."""
    out, built = [], {}
    span = max(w.length for w in ab.windows)
    one_date = aligned.positions is None or len(np.unique(aligned.positions[rows])) < 2
    view = as_slice(rows)
    # r̄ uses estimation residuals only: once per group, not once per window's firm-events
    rbar = (
        group_rbar(calendar_residuals(ab.ar[view], ab.est_mask[view], aligned.dates_of(view)))
        if one_date and len(rows) > 1
        else None
    )
    overlap = None
    if not one_date:
        sums, method = overlap_estimate(ab.ar[view], ab.est_mask[view], aligned.positions[view], span)
        overlap = (sums, len(rows), method)
    for j, w in enumerate(ab.windows):
        r = rows[np.isfinite(ab.car[rows, j])]
        key = r.tobytes()
        if key not in built:
            view = as_slice(r)
            built[key] = Sample.build(
                ab.car[r, j],
                ab.scar[r, j],
                ab.dof[r],
                ab.ar[view],
                ab.est_mask[view],
                aligned.in_window(w),
                aligned.dates_of(view),
                ranks[view],
                aligned.grid,
                None if aligned.positions is None else aligned.positions[view],
                None if ab.sigma is None else ab.sigma[view],
                span,
                rbar,
                overlap,
            )
        out.append(built[key].for_window(ab.car[r, j], ab.scar[r, j], aligned.in_window(w)))
    return out


def _kept(aligned: Aligned, ids: Sequence[str]) -> tuple[str, ...]:
    """The group's event_ids that survived alignment and estimation, in the group's order."""
    return tuple(pd.Index(ids)[_rows(aligned, ids) >= 0].tolist())


def _rows(aligned: Aligned, ids: Sequence[str]) -> np.ndarray:
    """Row of each id among the aligned firm-events (−1 for one that is not there)."""
    return aligned.event_ids.get_indexer(pd.Index(ids, dtype=aligned.event_ids.dtype)).astype(np.int64)


def _tests_frame(aligned, ab, members, specs, ranks) -> pd.DataFrame:
    """One row per group, window and test; ``detail`` holds what the test used (r̄ for
    Kolari–Pynnönen, the span of the Corrado ranks) or why it could not be computed;
    ``robust`` says whether the test holds its size for this sample under cross-correlation and
    event-induced variance both (:meth:`~eventstudy.core.inference.TestSpec.robustness`)."""
    rows = []
    apart = aligned.positions is not None and len(np.unique(aligned.positions)) > 1
    for group, ids in members.items():
        for w, s in zip(ab.windows, _samples(aligned, ab, ranks, _rows(aligned, ids)), strict=True):
            rows += [test_row(group, w.label, spec, s, apart) for spec in specs]
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def _caar_frame(aligned, ab, members, path: Window) -> pd.DataFrame:
    inside = aligned.in_window(path)
    frames = []
    for group, ids in members.items():
        idx = _rows(aligned, ids)
        aar = column_mean(ab.ar[as_slice(idx)]) if len(idx) else np.full(len(aligned.grid), np.nan)
        frames.append(caar_frame(group, aligned.grid, aar, aligned.in_estimation, inside))
    empty = pd.DataFrame(columns=["group", "day", "aar", "caar", "se", "lo", "hi"])
    return pd.concat(frames, ignore_index=True) if frames else empty
