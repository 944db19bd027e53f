"""The first pass over a chunk: every firm-event estimated from running sums in calendar order
(X'X, X'y, y'y of any estimation window from two look-ups), and the abnormal returns on the
design's relative days."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..._typing import BoolArray, Float64Array, IntArray
from .. import exclusions
from ..models import SINGULAR, _batched_inverse, residual_variance
from . import kernel
from .plan import Chunk, Local, Plan, Rows, _flat_index, _take


@dataclass(frozen=True)
class Estimates:
    """The first pass over a chunk: its usable firm-events (``rows``), their centred parameters
    θ̂ (n × K, the constant first), (X′X)⁻¹ in centred coordinates, σ̂², valid estimation days
    and those left out for the firm's other events, and per window the CAR, Var(CAR) and
    missing days; the centring (y's shift per firm, x's means); the firm-events excluded at
    estimation. A few dozen numbers per firm-event."""

    rows: IntArray
    theta: Float64Array
    xtx_inv: Float64Array
    sigma2: Float64Array
    n_obs: IntArray
    removed: IntArray
    cars: Float64Array
    var_car: Float64Array
    n_missing: IntArray
    shift: Float64Array
    x_mean: Float64Array
    dropped: Rows
    valid_bits: np.ndarray  # the chunk's valid days, firms × sessions packed along the sessions
    sessions: int

    def valid(self) -> BoolArray:
        """Sessions × firms, firm-major (the second pass's order)."""
        return np.ascontiguousarray(np.unpackbits(self.valid_bits, axis=1, count=self.sessions)).view(bool).T

    def block(self, rows: slice) -> Estimates:
        """The estimates of some of the usable firm-events (the exclusions stay with the whole)."""
        per_event = ("rows", "theta", "xtx_inv", "sigma2", "n_obs", "removed", "cars", "var_car", "n_missing")
        none = {k: v[:0] for k, v in self.dropped.items()}
        return replace(self, **{k: getattr(self, k)[rows] for k in per_event}, dropped=none)

    @property
    def scar(self) -> Float64Array:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.cars / np.sqrt(self.var_car)


def _residuals(y: Float64Array, xs: list[Float64Array], theta: Float64Array) -> Float64Array:
    """y − Xθ̂ of each firm-event on each day (X = [1, xs...], xs n × days each)."""
    out = y - theta[:, :1]
    for i, x in enumerate(xs):
        out -= theta[:, 1 + i : 2 + i] * x
    return out


def window_sums(
    moments: Callable[[slice, Float64Array], None],
    shape: tuple[int, int, int],
    starts: IntArray,
    stops: IntArray,
    cols: IntArray,
    block: int = 256,
) -> Float64Array:
    """Σ over the sessions [start, stop) of column ``col`` of every moment (events × moments):
    S[stop] − S[start], S the running sums down the sessions of the moments (sessions ×
    moments × columns, which ``moments(rows, out)`` writes for some sessions).

    Notes
    -----
    The running sums are made ``block`` sessions at a time, in one small buffer that stays in
    cache, each block's first row carrying the last one's total, and every look-up is taken
    from the block holding it: the same additions in the same order as a cumulative sum of the
    whole table, so the same bits, without the table. Row by row, each row one vectorised add:
    numpy's cumsum down the first axis of a C-ordered array walks each column with a stride and
    is several times slower."""
    t, n_moments, f = shape
    out = np.zeros((len(cols), n_moments))
    buf = np.empty((min(block, max(t, 1)), n_moments, f))
    carry = np.zeros((n_moments, f))
    for r0 in range(0, t, block):
        cells = buf[: min(block, t - r0)]
        moments(slice(r0, r0 + len(cells)), cells)
        cells[0] += carry
        for i in range(1, len(cells)):
            np.add(cells[i - 1], cells[i], out=cells[i])
        carry = cells[-1].copy()
        for at, sign in ((starts, -1.0), (stops, 1.0)):  # S[at] is cells[at − r0 − 1]
            hit = np.flatnonzero((at > r0) & (at <= r0 + len(cells)))
            if len(hit):
                out[hit] += sign * cells[at[hit] - r0 - 1, :, cols[hit]]
    return out


def _inverse(xtx: Float64Array) -> Float64Array:
    """:func:`~eventstudy.core.models._batched_inverse` of each K × K matrix; the market model's
    2 × 2 ones in closed form, (d, −b; −c, a) / (ad − bc), judged singular as there: the
    determinant of the correlation form (each entry over the square roots of its two diagonal
    ones) below :data:`~eventstudy.core.models.SINGULAR`. LAPACK's routines, a call for each
    matrix, took 0.19 s of a thread at 1,000,000 firm-events. The two differ in the last bits at
    most (both engines' tests hold to 1e-10 of statsmodels' OLS)."""
    if xtx.shape[1:] != (2, 2):
        return _batched_inverse(xtx)
    a, b, c, d = xtx[:, 0, 0], xtx[:, 0, 1], xtx[:, 1, 0], xtx[:, 1, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        s0, s1 = 1.0 / np.sqrt(a), 1.0 / np.sqrt(d)
        det = (a * s0 * s0) * (d * s1 * s1) - (b * s0 * s1) * (c * s1 * s0)
        ok = np.isfinite(det) & (det > SINGULAR)
        full = np.where(ok, a * d - b * c, np.nan)
        out = np.stack([d, -b, -c, a], axis=1) / full[:, None]
    return out.reshape(-1, 2, 2)


def firm_shift(y: Float64Array, valid: BoolArray) -> Float64Array:
    """Each firm's mean valid return (``y``: sessions × firms): the sum of its row of sessions,
    the others zero, in numpy's pairwise order, over their number — as the compiled running sums
    work it out."""
    return np.where(valid.T, y.T, 0.0).sum(axis=1) / np.maximum(valid.sum(axis=0), 1)


def _moments(loc: Local, x0: Float64Array, shift: Float64Array, pairs: list[tuple[int, int]]):
    """The moments :func:`window_sums` sums (the numpy steps), from session-major copies of the
    chunk's arrays: ``moments(rows, cells)`` writes the sessions ``rows``' count, Σx, Σxx′ (upper
    triangle), Σy, Σxy, Σyy (y centred, zero where not valid), and the returns set aside."""
    valid, y = np.ascontiguousarray(loc.valid), np.ascontiguousarray(loc.y)
    set_aside = np.logical_and(loc.blocked, np.isfinite(loc.chunk.returns), order="C")
    k1 = x0.shape[1]
    k = k1 + 1
    iy = k + len(pairs)

    def moments(rows: slice, cells: Float64Array) -> None:
        ok, x0r = valid[rows], x0[rows]
        np.copyto(cells[:, 0], ok)
        for i in range(k1):
            np.multiply(ok, x0r[:, i : i + 1], out=cells[:, 1 + i])
        for at, (i, j) in enumerate(pairs, start=k):
            np.multiply(ok, x0r[:, i : i + 1] * x0r[:, j : j + 1], out=cells[:, at])
        yc = cells[:, iy]
        np.subtract(y[rows], shift, out=yc)
        yc[~ok] = 0.0
        for i in range(k1):
            np.multiply(yc, x0r[:, i : i + 1], out=cells[:, iy + 1 + i])
        np.multiply(yc, yc, out=cells[:, iy + k])
        np.copyto(cells[:, -1], set_aside[rows])

    return moments


def estimate(plan: Plan, chunk: Chunk) -> Estimates:
    """The first pass: every firm-event of the chunk estimated from running sums in calendar
    order, then its CARs from the days of the event windows only.

    Notes
    -----
    y is centred on the firm's mean and x on each regressor's mean over the sessions summed, so
    no running sum grows far from zero; X′X, X′y and y′y of an estimation window are then two
    look-ups and a subtraction. σ̂² = (y′y − θ̂′X′y)/(L − K) (centred y; for the market-adjusted
    model y′y − (Σy)²/L over L − 1)."""
    loc = Local.of(plan, chunk)
    chunk, y, x, valid = loc.chunk, loc.y, loc.x, loc.valid
    t, f = y.shape
    k1 = x.shape[1]
    k = k1 + 1
    x_ok = np.isfinite(x).all(axis=1)
    x_mean = x[x_ok].mean(axis=0) if x_ok.any() else np.zeros(k1)
    x0 = np.where(x_ok[:, None], x - x_mean, 0.0)
    pairs = [(i, j) for i in range(k1) for j in range(i, k1)]
    iy = k + len(pairs)
    est = plan.estimation
    a = np.clip(chunk.pos + est.start, 0, t)
    b = np.clip(chunk.pos + est.end + 1, 0, t)
    width = 2 * k + len(pairs) + 2
    if plan.kernel:
        m, shift = np.zeros((len(chunk), width)), np.empty(f)
        at = np.array(pairs, np.int64).reshape(-1, 2)
        firm_major = (valid.T, x0, x_ok, y.T, np.asfortranarray(chunk.returns).T, loc.blocked.T)  # valid: written
        kernel.compiled("estimation_sums")(*firm_major, a, b, chunk.col, at, shift, m)
    else:
        shift = firm_shift(y, valid)
        m = window_sums(_moments(loc, x0, shift, pairs), (t, width, f), a, b, chunk.col)
    removed = np.rint(m[:, -1]).astype(np.int64)
    m = m[:, :-1]
    n_obs = np.rint(m[:, 0]).astype(np.int64)
    xtx = np.empty((len(m), k, k))
    xtx[:, 0, 0] = m[:, 0]
    xtx[:, 0, 1:] = xtx[:, 1:, 0] = m[:, 1:k]
    for at, (i, j) in enumerate(pairs, start=k):
        xtx[:, 1 + i, 1 + j] = xtx[:, 1 + j, 1 + i] = m[:, at]
    xty, yty = m[:, iy : iy + k], m[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        tss = yty - xty[:, 0] ** 2 / n_obs
        if plan.model.estimated:
            xtx_inv = _inverse(xtx)
            theta = np.matmul(xtx_inv, xty[:, :, None])[:, :, 0]
            ssr = yty - np.einsum("nk,nk->n", theta, xty)
        else:
            xtx_inv, theta = np.zeros((len(m), 1, 1)), np.zeros((len(m), 1))
            ssr = tss
        sigma2 = residual_variance(ssr, tss, n_obs - plan.model.k)
    need = max(plan.min_obs, plan.model.k + 3)
    enough = n_obs >= need
    ok = enough & np.isfinite(theta).all(axis=1) & np.isfinite(sigma2) & (sigma2 > 0)
    dropped = {
        "order": chunk.order[~ok],
        "stage": np.full((~ok).sum(), "estimation", object),
        "reason": np.array(exclusions.estimation_reasons(n_obs[~ok], removed[~ok], enough[~ok], est, need), object),
    }
    rows = np.flatnonzero(ok)
    theta, xtx_inv, sigma2 = theta[rows], xtx_inv[rows], sigma2[rows]
    # the CARs, from the days of the event windows only
    cols = np.flatnonzero(np.any([plan.inside(w) for w in plan.windows], axis=0))
    sub = replace(loc, chunk=_take(chunk, rows))
    yg, xs, _, _ = sub.gather(plan, cols, shift if plan.model.estimated else np.zeros(f), x_mean)
    ar = _residuals(yg, xs, theta) if plan.model.estimated else yg
    nw = len(plan.windows)
    cars, var_car = np.empty((len(rows), nw)), np.empty((len(rows), nw))
    n_missing = np.empty((len(rows), nw), np.int64)
    for j, w in enumerate(plan.windows):
        inside = plan.inside(w)[cols]
        cars[:, j] = ar[:, inside].sum(axis=1)
        s = np.column_stack([np.full(len(rows), float(w.length)), *(x[:, inside].sum(axis=1) for x in xs)])
        var_car[:, j] = sigma2 * (w.length + np.einsum("nk,nkl,nl->n", s, xtx_inv, s))
        n_missing[:, j] = (~np.isfinite(ar[:, inside])).sum(axis=1)
    return Estimates(
        rows,
        theta,
        xtx_inv,
        sigma2,
        n_obs[rows],
        removed[rows],
        cars,
        var_car,
        n_missing,
        shift if plan.model.estimated else np.zeros(f),
        x_mean,
        dropped,
        np.packbits(valid.T, axis=1),  # firm by firm
        t,
    )


@dataclass(frozen=True)
class Fit:
    """The second pass's view of a chunk's usable firm-events: the estimates, the AR of every
    relative day of the grid (n × G; the residuals on estimation days), the valid estimation
    days, the centred regressors of the path (for the per-day frame), and each firm-event's
    number of valid estimation days and of those with an AR above zero."""

    est: Estimates
    ar: Float64Array
    valid: BoolArray
    path_x: list[Float64Array]
    n_valid: IntArray
    n_up: IntArray

    @property
    def sigma2(self) -> Float64Array:
        return self.est.sigma2


def abnormal(plan: Plan, loc: Local, est: Estimates) -> Fit:
    """AR_iτ = y_iτ − x_iτ′θ̂_i on every relative day of the grid, NaN where y or x is missing
    and on estimation days set aside for another event of the firm."""
    sub = replace(loc, chunk=_take(loc.chunk, est.rows))
    in_est = np.zeros(len(plan.grid), bool)
    in_est[plan.est_cols] = True
    path = plan.inside(plan.path)
    if plan.kernel:
        c = sub.chunk
        ar, valid = np.empty((len(c), len(plan.grid))), np.empty((len(c), len(plan.grid)), bool)
        counts = np.empty((len(c), 2), np.int64)
        firm_major = (loc.y.T, loc.valid.T, np.ascontiguousarray(loc.x), c.pos, c.col, plan.grid, in_est)
        compiled = kernel.compiled("grid_residuals")
        compiled(*firm_major, est.shift, est.x_mean, est.theta, plan.model.estimated, ar, valid, counts)
        xs = sub.gather(plan, np.flatnonzero(path), est.shift, est.x_mean)[1] if plan.keep_ar else []
        return Fit(est, ar, valid, xs, counts[:, 0], counts[:, 1])
    y, xs, inside, at = sub.gather(plan, np.arange(len(plan.grid)), est.shift, est.x_mean)
    ar = _residuals(y, xs, est.theta) if plan.model.estimated else y
    valid = in_est[None, :] & inside & loc.valid.ravel(order="K").take(_flat_index(loc.valid, at, sub.chunk.col))
    ar[in_est[None, :] & ~valid] = np.nan
    n_valid, n_up = np.count_nonzero(valid, axis=1), np.count_nonzero(valid & (ar > 0), axis=1)
    return Fit(est, ar, valid, [x[:, path] for x in xs] if plan.keep_ar else [], n_valid, n_up)
