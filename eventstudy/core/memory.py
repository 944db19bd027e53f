"""The in-memory engine: every firm-event's returns held at once (N × days), aligned on the grid
of relative days, fitted in one batch, their abnormal returns, CARs and group tests as tidy
frames, and the influence of each event on the lead test recomputed exactly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import abnormal, exclusions, garch, models, scholes, tradetotrade
from .inference import TEST_COLUMNS, test_row
from .inference.rank import column_mean, standardized_ranks
from .inference.rbar import calendar_residuals, group_rbar, overlap_estimate
from .inference.sample import Sample
from .influence import INFLUENCE_COLUMNS, caar_influence
from .intervals import caar_intervals, car_intervals
from .results import CarTable, EventStudyResult, caar_frame
from .runspec import Inputs, RunSpec
from .windows import Aligned, Window, align, as_slice

FITTERS = {"garch": garch, "scholes-williams": scholes, "trade-to-trade": tradetotrade}  # fitted firm by firm


def run(spec: RunSpec, inputs: Inputs) -> EventStudyResult:
    """The result of ``spec`` on ``inputs`` (checked by the caller), every firm-event in memory."""
    aligned, excluded = align(
        inputs.returns,
        inputs.regressors[list(spec.model.needs)],
        inputs.events,
        estimation=spec.estimation,
        grid=spec.grid,
        other_events=spec.other_events,
    )
    if spec.model.fitter:
        fitter = FITTERS[spec.model.fitter]
        aligned, fit, ab, dropped = fitter.fit(aligned, spec.model, spec.windows, spec.min_estimation_obs)
    else:
        fit = models.fit(aligned, model=spec.model)
        aligned, fit, dropped = _usable(aligned, fit, spec.min_estimation_obs)
        ab = abnormal.compute(fit, aligned, spec.windows)
    groups = {"all": aligned.event_ids} if inputs.groups is None else inputs.groups
    members = {g: _kept(aligned, ids) for g, ids in groups.items()}
    ranks = standardized_ranks(ab.ar)
    car, tests = _car_frame(aligned, ab), _tests_frame(aligned, ab, members, spec.tests, ranks)
    car = car_intervals(car) if spec.intervals else car
    table = CarTable.of(car, ("car", "se"), members) if spec.influence or spec.intervals else None
    return EventStudyResult(
        model=spec.model,
        estimation=spec.estimation,
        windows=spec.windows,
        path=spec.path,
        events=_events_frame(aligned, fit),
        ar=_ar_frame(aligned, ab, spec.path),
        car=car,
        tests=tests,
        caar=_caar_frame(aligned, ab, members, spec.path),
        excluded=exclusions.table(
            [excluded, _in_order(dropped, _incomplete(aligned, ab), inputs.events, spec.windows)]
        ),
        groups=members,
        influence=_influence(aligned, ab, members, spec, ranks, table, tests) if spec.influence else _NO_INFLUENCE,
        intervals=caar_intervals(table, tests) if spec.intervals else pd.DataFrame(),
    )


_NO_INFLUENCE = pd.DataFrame(columns=INFLUENCE_COLUMNS)


def _influence(aligned, ab, members, run: RunSpec, ranks, table: CarTable, tests) -> pd.DataFrame:
    """:func:`~eventstudy.core.influence.caar_influence` with the lead test recomputed, r̄ included,
    on the group without each event that could decide it."""
    lead = next(s for s in run.tests if s.name == run.lead)
    labels = [w.label for w in ab.windows]

    def recompute(group: str, event: str) -> dict[str, float]:
        rows = _rows(aligned, [e for e in members[group] if e != event])
        return {w: lead.func(s).pvalue for w, s in zip(labels, _samples(aligned, ab, ranks, rows), strict=True)}

    return caar_influence(table, tests, lead.name, recompute)


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


def _in_order(dropped: pd.DataFrame, incomplete: pd.DataFrame, events: pd.DataFrame, windows) -> pd.DataFrame:
    """The exclusions after alignment in the chunked engines' order: by firm-event as the sample
    lists them, each one's estimation before its windows in the design's order (so the excluded
    frame does not change with the engine ``auto`` picks)."""
    rows = exclusions.table([dropped, incomplete])
    stage = {"estimation": 0} | {f"window {w.label}": 1 + i for i, w in enumerate(windows)}
    rank = rows.stage.map(stage).fillna(len(stage)).to_numpy()
    position = pd.Index(events["event_id"]).get_indexer(rows.event_id)
    return rows.iloc[np.lexsort((rank, position))].reset_index(drop=True)


def _incomplete(aligned: Aligned, ab: abnormal.AbnormalReturns) -> pd.DataFrame:
    """Firm-events without a CAR in a window, and why: the window reaches past the return data,
    or the firm's return or the model's regressors (a benchmark or factor series) are missing on
    the days named."""
    rows = []
    for j, w in enumerate(ab.windows):
        for i in np.flatnonzero(ab.n_missing[:, j]):
            gap = aligned.in_window(w) & ~np.isfinite(ab.ar[i])
            no_x = ~np.isfinite(aligned.factors[aligned.cluster[i]])
            why = exclusions.missing_days(
                aligned.grid,
                gap & pd.isna(aligned.cluster_dates[aligned.cluster[i]]),
                gap & ~np.isfinite(aligned.y[i]),
                {name: gap & no_x[:, k] for k, name in enumerate(aligned.factor_names)},
            )
            rows.append((aligned.event_ids[i], aligned.tickers[i], f"window {w.label}", why))
    return pd.DataFrame(rows, columns=exclusions.COLUMNS)


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
    if fit.model.fitter:
        return pd.concat([frame, FITTERS[fit.model.fitter].parameter_frame(fit)], axis=1)
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
