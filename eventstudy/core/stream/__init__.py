"""The streaming core: the event study of :func:`eventstudy.core.engine.run_event_study`, computed a
chunk of firms at a time from partial sums that add up across chunks.

Per chunk of firms (all their events):

1. **Estimation from cumulative sums.** Each firm's valid estimation days (return and
   regressors present, not inside another event of the firm) give running sums in calendar
   order of 1, x, xx′, y and xy (centred first: y on the firm's mean, x on each regressor's
   mean, so that no long running sum cancels against another); X′X and X′y of any estimation
   window are two look-ups and a subtraction, whatever its length (:func:`window_sums`, a
   block of sessions at a time). This first pass also gives the CARs and the SCAR sums.
2. **Abnormal returns** on the relative days of the design (the residuals on estimation days,
   σ̂² from them), CARs, their variances, SCARs; per firm-event tidy rows.
3. **Partial sums** per group (and window): the moments of CAR and SCAR, Patell's variance,
   signs, the daily sums of AR and of standardized ranks, the calendar-session sums of the
   calendar-time test, GRANK's rank sums, and r̄'s position sums of standardized residuals.

Sums of chunks add (:meth:`Partial.combine`), in any grouping: the memory held is one chunk's,
and Dask (:mod:`eventstudy.core.distributed`) runs the same chunks on its workers and adds their sums
in a tree. :func:`finish` turns the total into the result frames; the tests are the functions of
:mod:`eventstudy.core.inference`, reading the sums through :class:`Moments`.

r̄ comes from the sum identity over standardized residuals (each firm-event's estimation
residuals demeaned and scaled to unit length over its own days, zero on days it lacks): exactly
the pairwise r̄ of complete residuals on one date, and within about 10⁻³ of the pairwise-complete
r̄ otherwise (tests/test_stream.py bounds it), in O(N·L), never over pairs. GRANK scales each
SCAR by the sample's s(SCAR), known only once every chunk's first pass is summed
(:func:`scar_partial`); the second pass (:func:`chunk_partial`: steps 2 and 3) then compares
each firm-event's SARs with its scaled SCAR.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse, special

from ..._typing import BoolArray, Float64Array, IntArray
from .. import exclusions
from ..inference import (
    BANDS,
    IDENTITY_METHOD,
    TEST_COLUMNS,
    TestSpec,
    coverage_band,
    overlap_rbar,
    row_ranks,
    standardized_ranks,
    stratified_identity,
    test_row,
)
from ..results import caar_frame
from .first_pass import Estimates, Fit, abnormal, estimate
from .plan import CHUNK_EVENTS, ESTIMATION_METHOD, Chunk, Layout, Local, Plan, Rows, _take

"""Columns of tidy rows, ``order`` (the firm-event's row of the :class:`Layout`) first: numpy
only, so a block's rows cost no frame, and the ids and tickers are looked up once, in
:func:`finish`."""


@dataclass
class Partial:
    """Sums over some firm-events that add up with those of others (:meth:`combine`), and the
    tidy rows of those firm-events (:data:`Rows` of events, CARs, ARs and exclusions). Keys
    ``min_*`` and ``max_*`` combine by min and max."""

    sums: dict[str, np.ndarray] = field(default_factory=dict)
    frames: dict[str, list[Rows]] = field(default_factory=dict)

    def combine(self, other: Partial) -> Partial:
        sums = dict(self.sums)
        for key, v in other.sums.items():
            if key not in sums:
                sums[key] = v
            elif key.startswith("min_"):
                sums[key] = np.minimum(sums[key], v)
            elif key.startswith("max_"):
                sums[key] = np.maximum(sums[key], v)
            else:
                sums[key] = sums[key] + v
        frames = {k: [*self.frames.get(k, []), *other.frames.get(k, [])] for k in {*self.frames, *other.frames}}
        return Partial(sums, frames)


def total(parts: Iterable[Partial]) -> Partial:
    out = Partial()
    for p in parts:
        out = out.combine(p)
    return out


def scar_partial(plan: Plan, chunk: Chunk, est: Estimates) -> Partial:
    """The first pass's sums: n, Σ SCAR and Σ SCAR² of each window and group (GRANK scales by
    s(SCAR) before the second pass ranks)."""
    scar = est.scar
    finite = np.isfinite(scar)
    w = np.stack([chunk.member[est.rows] & finite[:, [j]] for j in range(len(plan.windows))], axis=1)
    t0 = np.where(finite, scar, 0.0)
    return Partial(
        {
            "n": w.sum(axis=0).astype(np.float64),
            "scar": np.stack([t0[:, j] @ w[:, j] for j in range(len(plan.windows))]),
            "scar2": np.stack([t0[:, j] ** 2 @ w[:, j] for j in range(len(plan.windows))]),
        }
    )


BLOCK = 1024  # firm-events whose grid of ARs is worked on at once: a few MB, kept in cache


def chunk_partial(plan: Plan, chunk: Chunk, est: Estimates, scale: Float64Array | None = None) -> Partial:
    """The second pass: everything a chunk contributes, its tidy rows and its sums, worked out
    :data:`BLOCK` firm-events at a time. ``scale`` (windows × groups, 1 / s(SCAR) from the first
    pass) is needed when GRANK is a test."""
    loc = Local.of(plan, chunk, est.valid())
    rbar = _RbarSums(plan)
    out = Partial(frames={"excluded": [est.dropped]})
    for lo in range(0, max(len(est.rows), 1), BLOCK):
        out = out.combine(_block_partial(plan, chunk, loc, est.block(slice(lo, lo + BLOCK)), scale, rbar))
    out.sums.update(rbar.sums)
    return out


def _block_partial(plan: Plan, chunk: Chunk, loc: Local, est: Estimates, scale, rbar: _RbarSums) -> Partial:
    fit = abnormal(plan, loc, est)
    ev = _take(chunk, est.rows)
    cars, var_car, n_missing, t = est.cars, est.var_car, est.n_missing, est.scar
    dof = est.n_obs - plan.model.k
    member = ev.member
    sums: dict[str, np.ndarray] = {}
    finite = np.isfinite(cars)
    ranks, sar_ranks = _ranks(plan, fit)
    share = (fit.valid & (fit.ar > 0)).sum(axis=1) / np.maximum(fit.valid.sum(axis=1), 1)
    ar_ok = np.isfinite(fit.ar)
    ar0 = np.where(ar_ok, fit.ar, 0.0)
    u0 = np.where(ar_ok, ranks, 0.0)  # a rank exists where the AR does
    weights = np.stack([member & finite[:, [j]] for j in range(len(plan.windows))], axis=1)  # n × W × groups
    c0, t0 = np.where(finite, cars, 0.0), np.where(finite, t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        patell = np.where(dof > 2, dof / (dof - 2.0), 0.0)
    wf = weights.astype(np.float64)
    per_window = {"car": c0, "car2": c0**2, "scar": t0, "scar2": t0**2, "positive": (cars > 0).astype(np.float64)}
    for key, value in per_window.items():
        sums[key] = np.stack([value[:, j] @ wf[:, j] for j in range(len(plan.windows))])
    for key, value in {"n": np.ones(len(t0)), "patell": patell, "share": share}.items():
        sums[key] = np.stack([value @ wf[:, j] for j in range(len(plan.windows))])
    sums["min_dof"] = np.where(weights, dof[:, None, None], np.inf).min(axis=0, initial=np.inf)
    ar_n = ar_ok.astype(np.float64)
    for key, value in {"ar": ar0, "ar_n": ar_n, "u": u0}.items():
        sums[key] = _by_window(wf, value)
    m = member.astype(np.float64)
    sums["group_ar"] = m.T @ ar0
    sums["group_ar_n"] = m.T @ ar_n
    sums["group_n"] = m.sum(axis=0)
    sums["min_pos"] = np.where(member, ev.pos[:, None], 2**62).min(axis=0, initial=2**62)
    sums["max_pos"] = np.where(member, ev.pos[:, None], -1).max(axis=0, initial=-1)
    rbar.add(fit, ev)
    if "calendar-time" in plan.tests:
        sums.update(_calendar_sums(plan, fit, ev, weights))
    if "grank" in plan.tests:
        assert scale is not None, "GRANK needs the first pass's 1 / s(SCAR)"
        sums.update(_grank_sums(plan, fit, sar_ranks, t, weights, scale))
    frames = {"events": [_events_rows(plan, fit, ev)]}
    frames["car"] = [_car_rows(plan, ev, fit, cars, var_car, t, dof, n_missing)]
    frames["excluded"] = _incomplete_rows(plan, fit, ev, chunk, n_missing)
    if plan.keep_ar:
        frames["ar"] = [_ar_rows(plan, fit, ev)]
    return Partial(sums, frames)


def _grank_sums(plan: Plan, fit: Fit, rank, scar, weights: BoolArray, scale: Float64Array) -> dict[str, np.ndarray]:
    """GRANK's sums (Kolari & Pynnönen 2011): per window, group and estimation day, Σ U_it and
    the firm-events with a value; Σ of the cumulative event day's U. Each firm-event's T_i SARs
    and its SCAR* = SCAR · scale are ranked together: an estimation day's rank is its rank
    among the SARs, one up when above SCAR* (a half when tied), over T_i + 2."""
    sar = _sar(plan, fit)
    valid = np.isfinite(sar)
    size = valid.sum(axis=1) + 1.0
    inv = 1.0 / (size + 1)
    wf = weights.astype(np.float64)
    count = _by_window(wf, valid.astype(np.float64))
    u = _by_window(wf * inv[:, None, None], np.where(valid, rank, 0.0)) - 0.5 * count
    event = np.zeros((len(plan.windows), len(plan.groups)))
    for j in range(len(plan.windows)):
        for g in range(len(plan.groups)):
            take = weights[:, j, g]
            every = take.all()
            s = sar if every else sar[take]
            v = (scar[:, j] if every else scar[take, j]) * scale[j, g]
            above = s > v[:, None]
            tied = s == v[:, None]
            up = above.astype(np.float64)
            if tied.any():  # a SAR equal to SCAR* (rare) shares the two ranks
                up += 0.5 * tied
            w_inv = inv if every else inv[take]
            u[j, g] += w_inv @ up
            below = (size if every else size[take]) - 1 - above.sum(axis=1) - tied.sum(axis=1)
            event[j, g] = ((1 + below + 0.5 * tied.sum(axis=1)) * w_inv - 0.5).sum()
    return {"grank_u": u, "grank_n": count, "grank_event": event}


def _by_window(weights: Float64Array, values: Float64Array) -> Float64Array:
    """Σ over firm-events of ``values`` (n × D) for each window and group (W × groups × D):
    one matrix product per window."""
    return np.stack([weights[:, j].T @ values for j in range(weights.shape[1])])


def _zero_filled_rows(resid: Float64Array) -> tuple[Float64Array, Float64Array, BoolArray]:
    """Residuals demeaned and scaled to unit length over each row's own days (zero elsewhere),
    the days' indicators over √(their number), and which rows count (3 days or more, some
    variance); rows that do not count are zero."""
    valid = np.isfinite(resid)
    counts = valid.sum(axis=1)
    z = np.where(valid, resid, 0.0)
    z -= (z.sum(axis=1) / np.maximum(counts, 1))[:, None]
    z *= valid
    norm = np.sqrt(np.einsum("ij,ij->i", z, z))
    ok = (counts >= 3) & (norm > 0)
    z *= np.divide(1.0, norm, out=np.zeros(len(z)), where=ok)[:, None]
    w = valid * np.divide(1.0, np.sqrt(counts), out=np.zeros(len(z)), where=ok)[:, None]
    return z, w, ok


class _RbarSums:
    """Per group and calendar position: the sums of the standardized residuals z and of the day
    weights w over the firm-events there, and their number; per group the rows that count, the
    valid estimation days and the days any row has (to tell complete residuals). r̄ needs
    nothing else; blocks of firm-events add into them in place."""

    def __init__(self, plan: Plan):
        groups, length = len(plan.groups), len(plan.est_cols)
        self.sums = {
            "z": np.zeros((groups, plan.sessions, length)),
            "w": np.zeros((groups, plan.sessions, length)),
            "at": np.zeros((groups, plan.sessions)),
            "ok": np.zeros(groups),
            "valid_days": np.zeros(groups),
            "day_any": np.zeros((groups, length), bool),
        }
        if not plan.apart:  # one date: the sums by coverage stratum too (inference.identity_rbar)
            self.sums |= {
                "z_band": np.zeros((groups, BANDS, length)),
                "w_band": np.zeros((groups, BANDS, length)),
                "n_band": np.zeros((groups, BANDS)),
            }
        self.plan = plan

    def add(self, fit: Fit, ev: Chunk) -> None:
        plan, out = self.plan, self.sums
        resid = fit.ar[:, plan.est_slice]  # NaN on days that are not valid
        z, w, ok = _zero_filled_rows(resid)
        band = coverage_band(np.isfinite(resid).sum(axis=1), resid.shape[1]) if "z_band" in out else None
        for g in range(len(plan.groups)):
            rows = np.flatnonzero(ev.member[:, g])
            if not len(rows):
                continue
            at, where = np.unique(ev.pos[rows], return_inverse=True)
            by_position = sparse.csr_matrix((np.ones(len(rows)), (where, rows)), shape=(len(at), len(z)))
            out["z"][g, at] += by_position @ z
            out["w"][g, at] += by_position @ w
            out["at"][g, at] += np.bincount(where, minlength=len(at))
            if band is not None:
                rows = rows[ok[rows]]
                by_band = sparse.csr_matrix((np.ones(len(rows)), (band[rows], rows)), shape=(BANDS, len(z)))
                out["z_band"][g] += by_band @ z
                out["w_band"][g] += by_band @ w
                out["n_band"][g] += np.bincount(band[rows], minlength=BANDS)
        m = ev.member.astype(np.float64)
        valid = fit.valid[:, plan.est_slice]
        out["ok"] += m.T @ ok.astype(np.float64)
        out["valid_days"] += m.T @ valid.sum(axis=1).astype(np.float64)
        out["day_any"] |= (m.T @ valid.astype(np.float64)) > 0


def _calendar_sums(plan: Plan, fit: Fit, ev: Chunk, weights: BoolArray) -> dict[str, np.ndarray]:
    """Per window and group: the sum and count of the ARs on each calendar session."""
    t = plan.sessions
    out_s = np.zeros((len(plan.windows), len(plan.groups), t))
    out_n = np.zeros_like(out_s)
    for j, w in enumerate(plan.windows):
        cols = np.flatnonzero(plan.inside(w))
        ar = fit.ar[:, cols]
        session = ev.pos[:, None] + plan.grid[cols][None, :]
        ok = np.isfinite(ar)
        for g in range(len(plan.groups)):
            take = ok & weights[:, j, g][:, None]
            out_s[j, g] = np.bincount(session[take], ar[take], minlength=t)[:t]
            out_n[j, g] = np.bincount(session[take], minlength=t)[:t]
    return {"cal": out_s, "cal_n": out_n}


def _sar(plan: Plan, fit: Fit) -> Float64Array:
    """SAR_it = ε̂_it / σ̂_i on the estimation days."""
    return fit.ar[:, plan.est_slice] / np.sqrt(fit.sigma2)[:, None]  # NaN on days that are not valid


_KEY_OF_INF = 0xFF800000  # the sort key of +inf in single precision


def _sorted_rows(values: Float64Array) -> tuple[IntArray, np.ndarray]:
    """Each row's order (argsort) and its values' sort keys in that order, from one sort of
    64-bit keys: the single-precision value's bits made to order as the values do (the sign
    bit flipped, or every bit when negative; −0 counted as +0), over the column. Sorting these
    is several times faster than an argsort (numpy sorts unsigned integers with SIMD); equal
    keys are equal single-precision values."""
    single = values.astype(np.float32)
    single += np.float32(0.0)  # −0 becomes +0
    signed = single.view(np.int32)
    flip = signed >> 31  # all ones where negative (an arithmetic shift)
    flip |= np.int32(-(2**31))
    signed ^= flip
    keys = signed.view(np.uint32).astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(values.shape[1], dtype=np.uint64)
    keys.sort(axis=1)
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.intp), (keys >> np.uint64(32)).astype(np.uint32)


def _ranks(plan: Plan, fit: Fit) -> tuple[Float64Array, Float64Array | None]:
    """Each firm-event's standardized ranks of its ARs over the grid (Corrado's U), and, when
    GRANK is among the tests, the ranks of its SARs among its estimation days, from one sort of
    each row (in single precision, whose order is the double-precision order where no two values
    of a row round to the same single): an estimation day's rank among the estimation days is the
    count of estimation days at or before it in the row's order. A row with a tie or a near-tie
    (two values equal in single precision) is ranked again the long way, ties sharing their mean
    rank, as :func:`eventstudy.core.inference.row_ranks` ranks them."""
    ar = fit.ar
    n, g = ar.shape
    valid = np.isfinite(ar)
    order, ordered = _sorted_rows(np.where(valid, ar, np.inf))  # missing last
    missing = np.uint32(_KEY_OF_INF)
    near = ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != missing)).any(axis=1)
    code = np.broadcast_to(np.arange(1, g + 1, dtype=np.int64), (n, g))
    grank = "grank" in plan.tests
    if grank:
        is_est = np.zeros(g, bool)
        is_est[plan.est_cols] = True
        code = code + (np.cumsum(is_est[order] & (ordered != missing), axis=1, dtype=np.int64) << 32)
    placed = np.empty((n, g), np.int64)
    np.put_along_axis(placed, order, code, axis=1)
    u = (placed & 0xFFFFFFFF) / (1.0 + valid.sum(axis=1, keepdims=True))
    u[~valid] = np.nan
    rank = (placed[:, plan.est_cols] >> 32).astype(np.float64) if grank else None
    if near.any():
        u[near] = standardized_ranks(ar[near])
        if grank:
            rank[near] = row_ranks(_sar(plan, fit)[near])
    return u, rank


@dataclass(frozen=True)
class Moments:
    """One group's firm-events with a CAR in one window, as the tests of
    :mod:`eventstudy.core.inference` read them (:class:`~eventstudy.core.inference.Summary`), from the
    summed partials."""

    n: int
    car_mean: float
    car_sd: float
    scar_sum: float
    scar_mean: float
    scar_sd: float
    patell_variance: float
    min_dof: float
    rbar: float
    rbar_method: str
    overlapping: bool
    ar_p: Float64Array
    est_days: BoolArray
    window: BoolArray
    ubar: Float64Array
    days: np.ndarray | None
    p_hat: float
    n_positive: int
    calendar: Float64Array | None = None
    grank: tuple[Float64Array, np.ndarray] | None = None
    has_sigma: bool = True

    def calendar_means(self) -> Float64Array | None:
        return self.calendar

    def grank_means(self) -> tuple[Float64Array, np.ndarray]:
        assert self.grank is not None
        return self.grank


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.full(np.shape(a), np.nan), where=np.asarray(b) > 0)


def _sd(total: float, squares: float, n: float) -> float:
    """The standard deviation (ddof 1) from a sum and a sum of squares."""
    if n < 2:
        return float("nan")
    mean = total / n
    return float(np.sqrt(max(squares - n * mean * mean, 0.0) / (n - 1)))


def rbar_of(plan: Plan, sums: Mapping[str, np.ndarray], g: int) -> tuple[float | Float64Array, str]:
    """The group's r̄ (one date) or its overlap sums Σ ρ at each distance d (different dates),
    from the position sums of z and w, and how it was computed."""
    z, w, at, k = sums["z"][g], sums["w"][g], sums["at"][g], sums["ok"][g]
    complete = sums["valid_days"][g] == sums["group_n"][g] * sums["day_any"][g].sum()
    if sums["min_pos"][g] == sums["max_pos"][g]:
        if "z_band" in sums:  # the identity by coverage stratum (exact on complete residuals)
            rbar = stratified_identity(sums["z_band"][g], sums["w_band"][g], sums["n_band"][g])
            return (rbar if sums["group_n"][g] > 1 else float("nan")), "" if complete else IDENTITY_METHOD
        p = int(sums["min_pos"][g])
        common = w[p] @ w[p] - k
        rbar = float((z[p] @ z[p] - k) / common) if sums["group_n"][g] > 1 and common > 0 else float("nan")
        return rbar, "" if complete else ESTIMATION_METHOD
    length = z.shape[1]
    out = np.zeros(plan.span)
    for d in range(min(plan.span, length - 30 + 1)):  # MIN_COMMON_SESSIONS common days at least
        if d == 0:
            s = (np.einsum("pl,pl->", z, z) - k) / 2
            c = (np.einsum("pl,pl->", w, w) - k) / 2
            pairs = np.sum(at * (at - 1)) / 2
        else:
            s = np.einsum("pl,pl->", z[:-d, d:], z[d:, : length - d])
            c = np.einsum("pl,pl->", w[:-d, d:], w[d:, : length - d])
            pairs = np.sum(at[:-d] * at[d:])
        if pairs > 0 and c > 0:
            out[d] = s / c * pairs
    return out, ESTIMATION_METHOD


def moments(plan: Plan, sums: Mapping[str, np.ndarray], j: int, g: int, rbar) -> Moments:
    w = plan.windows[j]
    n = int(sums["n"][j, g])
    rbar_value, method = rbar
    overlapping = not np.isscalar(rbar_value)
    calendar = grank = None
    if "cal" in sums:
        cal_n = sums["cal_n"][j, g]
        calendar = sums["cal"][j, g][cal_n > 0] / cal_n[cal_n > 0]
    if "grank_u" in sums:
        est_n = sums["grank_n"][j, g]
        est_u = _ratio(sums["grank_u"][j, g], est_n)
        grank = (np.r_[est_u, sums["grank_event"][j, g] / n if n else np.nan], np.r_[est_n, n].astype(np.int64))
    est_days = np.zeros(len(plan.grid), bool)
    est_days[plan.est_cols] = sums["ar_n"][j, g][plan.est_cols] > 0
    return Moments(
        n=n,
        car_mean=float(sums["car"][j, g] / n) if n else float("nan"),
        car_sd=_sd(sums["car"][j, g], sums["car2"][j, g], n),
        scar_sum=float(sums["scar"][j, g]),
        scar_mean=float(sums["scar"][j, g] / n) if n else float("nan"),
        scar_sd=_sd(sums["scar"][j, g], sums["scar2"][j, g], n),
        patell_variance=float(sums["patell"][j, g]),
        min_dof=float(sums["min_dof"][j, g]),
        rbar=overlap_rbar(rbar_value, int(sums["group_n"][g]), w.length) if overlapping else rbar_value,
        rbar_method=method,
        overlapping=overlapping,
        ar_p=_ratio(sums["ar"][j, g], sums["ar_n"][j, g]),
        est_days=est_days,
        window=plan.inside(w),
        ubar=_ratio(sums["u"][j, g], sums["ar_n"][j, g]),
        days=plan.grid,
        p_hat=float(sums["share"][j, g] / n) if n else float("nan"),
        n_positive=int(sums["positive"][j, g]),
        calendar=calendar,
        grank=grank,
    )


def scar_scale(sums: Mapping[str, np.ndarray]) -> Float64Array:
    """1 / s(SCAR) of every window and group (GRANK's SCAR* = SCAR / s(SCAR))."""
    n = sums["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (sums["scar2"] - sums["scar"] ** 2 / n) / (n - 1)
        return np.where(n > 1, 1.0 / np.sqrt(np.maximum(var, 0.0)), np.nan)


def tests_rows(plan: Plan, sums: Mapping[str, np.ndarray], specs: Sequence[TestSpec]) -> pd.DataFrame:
    rows = []
    for g, group in enumerate(plan.groups):
        rbar = rbar_of(plan, sums, g)
        for j, w in enumerate(plan.windows):
            s = moments(plan, sums, j, g, rbar)
            rows += [test_row(group, w.label, spec, s, plan.apart) for spec in specs]
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def caar_rows(plan: Plan, sums: Mapping[str, np.ndarray]) -> pd.DataFrame:
    in_est = np.zeros(len(plan.grid), bool)
    in_est[plan.est_cols] = True
    inside = plan.inside(plan.path)
    frames = [
        caar_frame(group, plan.grid, _ratio(sums["group_ar"][g], sums["group_ar_n"][g]), in_est, inside)
        for g, group in enumerate(plan.groups)
    ]
    return pd.concat(frames, ignore_index=True)


def _events_rows(plan: Plan, fit: Fit, ev: Chunk) -> Rows:
    names = ["alpha", *plan.model.columns] if plan.model.estimated else ["mean_adjustment"]
    params = fit.est.theta.copy()
    if plan.model.estimated:  # back to the raw coordinates: α = θ₀ + ȳ − Σ θ_k x̄_k
        params[:, 0] += fit.est.shift[ev.col] - fit.est.theta[:, 1:] @ fit.est.x_mean
    return {
        "order": ev.order,
        "pos": ev.pos,
        "n_est": fit.est.n_obs,
        "n_removed": fit.est.removed,
        "sigma": np.sqrt(fit.sigma2),
        **{n if n != "mkt" else "beta": params[:, i] for i, n in enumerate(names)},
    }


def _car_rows(plan: Plan, ev: Chunk, fit: Fit, cars, var_car, t, dof, n_missing) -> Rows:
    n, nw = cars.shape
    return {
        "order": np.repeat(ev.order, nw),
        "window": np.tile(np.arange(nw), n),
        "car": cars.ravel(),
        "se": np.sqrt(var_car).ravel(),
        "t": t.ravel(),
        "p": (2 * special.stdtr(dof[:, None], -np.abs(t))).ravel(),
        "dof": np.repeat(dof, nw),
        "n_est": np.repeat(fit.valid.sum(axis=1), nw),
        "n_missing": n_missing.ravel(),
    }


def _ar_rows(plan: Plan, fit: Fit, ev: Chunk) -> Rows:
    inside = plan.inside(plan.path)
    g = int(inside.sum())
    xg = np.stack([np.ones_like(fit.ar[:, inside]), *fit.path_x], axis=2)
    var = fit.sigma2[:, None] * (1.0 + np.einsum("ngk,nkl,ngl->ng", xg, fit.est.xtx_inv, xg))
    ar, se = fit.ar[:, inside], np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        sar = ar / se
    return {
        "order": np.repeat(ev.order, g),
        "day": np.tile(plan.grid[inside], len(ar)),
        "pos": (ev.pos[:, None] + plan.grid[inside][None, :]).ravel(),
        "ar": ar.ravel(),
        "se": se.ravel(),
        "sar": sar.ravel(),
        "car": np.cumsum(ar, axis=1).ravel(),
    }


def _incomplete_rows(plan: Plan, fit: Fit, ev: Chunk, chunk: Chunk, n_missing) -> list[Rows]:
    """Firm-events without a CAR in a window, and why (the words of the in-memory engine); none
    when every window is complete."""
    if not n_missing.any():
        return []
    rows = []
    t = plan.sessions
    for j, w in enumerate(plan.windows):
        inside = plan.inside(w)
        for i in np.flatnonzero(n_missing[:, j]):
            at = ev.pos[i] + plan.grid
            ok = (at >= 0) & (at < t)
            at = np.clip(at, 0, t - 1)
            gap = inside & ~np.isfinite(fit.ar[i])
            ret = np.where(ok, chunk.returns[at, ev.col[i]], np.nan)
            no_x = {name: gap & ~(np.isfinite(plan.x[at, k]) & ok) for k, name in enumerate(plan.names)}
            why = exclusions.missing_days(plan.grid, gap & ~np.isfinite(ret), no_x)
            rows.append((ev.order[i], f"window {w.label}", why))
    order, stage, reason = zip(*rows, strict=True)
    return [{"order": np.array(order), "stage": np.array(stage, object), "reason": np.array(reason, object)}]


def finish(plan: Plan, parts: Partial, specs: Sequence[TestSpec], index: pd.DatetimeIndex, layout: Layout) -> dict:
    """The result frames from the summed partials (per firm-event rows in the sample's order),
    and ``groups``: each group's fitted firm-events."""
    frames = parts.frames
    rows, events = _table(frames["events"], layout)
    groups = layout.kept(rows)
    events.insert(2, "event_date", index[events.pop("pos").to_numpy()])
    car = _table(frames["car"], layout, len(plan.windows))[1]
    car["window"] = pd.Index([w.label for w in plan.windows]).take(car["window"].to_numpy())
    out = {
        "events": events,
        "car": car,
        "tests": tests_rows(plan, parts.sums, specs),
        "caar": caar_rows(plan, parts.sums),
    }
    if "ar" in frames:
        ar = _table(frames["ar"], layout, int(plan.inside(plan.path).sum()))[1]
        at = ar.pop("pos").to_numpy()
        ar.insert(3, "date", index.take(np.clip(at, 0, len(index) - 1)).where((at >= 0) & (at < len(index))))
        out["ar"] = ar
    else:
        out["ar"] = pd.DataFrame(columns=["event_id", "ticker", "day", "date", "ar", "se", "sar", "car"])
    out["excluded"] = exclusions.table([layout.excluded, _table(frames["excluded"], layout)[1]])
    out["groups"] = groups
    return out


def _table(parts: Sequence[Rows], layout: Layout, per: int = 1) -> tuple[IntArray, pd.DataFrame]:
    """The rows of ``parts`` in the sample's order, led by each one's id and ticker; and the
    firm-events' rows of the layout. ``per``: the rows each firm-event has, together, in
    every part (a stable sort on ``order`` keeps a firm-event's rows in theirs otherwise).

    Notes
    -----
    The firm-events arrive by firm, so the sort moves every row: each firm-event's ``per``
    rows move together, and each run of columns of one type is written in its final order
    straight into one block, which becomes the frame's without a copy."""
    order = np.concatenate([p["order"][::per] for p in parts])
    sort = np.argsort(order, kind="stable")
    rows = order[sort]
    every = np.repeat(rows, per)
    frames = [pd.DataFrame({"event_id": layout.event_ids.take(every), "ticker": layout.tickers.take(every)})]
    names = [k for k in parts[0] if k != "order"]
    for dtype, run in itertools.groupby(names, key=lambda k: parts[0][k].dtype):
        run = list(run)
        block = np.empty((len(run), len(every)), dtype)
        for j, k in enumerate(run):
            column = np.concatenate([p[k] for p in parts]).reshape(-1, per)
            np.take(column, sort, axis=0, out=block[j].reshape(-1, per))
        frames.append(pd.DataFrame(block.T, columns=run, copy=False))
    return rows, pd.concat(frames, axis=1)


_JOB: dict = {}  # what the workers read: the plan, the layout and the returns


def _first_pass(span: tuple[int, int]) -> tuple[Estimates, Partial]:
    plan, layout, returns = _JOB["plan"], _JOB["layout"], _JOB["returns"]
    chunk = layout.chunk(returns, span)
    est = estimate(plan, chunk)
    return est, scar_partial(plan, chunk, est)


def _second_pass(job: tuple[tuple[int, int], Estimates, Float64Array | None]) -> Partial:
    plan, layout, returns = _JOB["plan"], _JOB["layout"], _JOB["returns"]
    span, est, scale = job
    return chunk_partial(plan, layout.chunk(returns, span), est, scale)


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
    does not depend on timing."""
    spans = layout.spans(size, len(returns))
    _JOB.update(plan=plan, layout=layout, returns=returns)
    try:
        with _pool(min(workers, len(spans))) as pool:
            kept, first = [], Partial()
            for est, partial in _bounded_map(pool, _first_pass, spans, workers):
                kept.append(est)
                first = first.combine(partial)
            scale = scar_scale(first.sums) if "grank" in plan.tests else None
            out = Partial()
            jobs = [(span, est, scale) for span, est in zip(spans, kept, strict=True)]
            for partial in _bounded_map(pool, _second_pass, jobs, workers):
                out = out.combine(partial)
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
) -> dict[str, pd.DataFrame]:
    """The result frames of the firm-events of ``layout``, streamed ``chunk_size`` at a time."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of firm-events; got {chunk_size!r}")
    parts = run_chunks(plan, layout, returns, chunk_size, workers, progress)
    return finish(plan, parts, specs, index, layout)
