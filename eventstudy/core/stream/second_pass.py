"""The second pass over a chunk: everything it contributes as sums that add up across chunks
(Partial) — the moments of CAR and SCAR, Patell's variance, signs, daily AR and rank sums,
calendar-time sums, GRANK's rank sums and r̄'s position sums — and its tidy rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..._typing import BoolArray, Float64Array, IntArray
from .. import exclusions
from ..inference.rbar import BANDS, coverage_band
from . import kernel
from .first_pass import Estimates, Fit, abnormal
from .memory import written_zeros
from .plan import Chunk, Local, Plan, Rows, _take
from .ranks import grid_ranks, sars


@dataclass
class Partial:
    """Sums over some firm-events that add up with those of others (:meth:`add`), and the
    tidy rows of those firm-events (:data:`Rows` of events, CARs, ARs and exclusions). Keys
    ``min_*`` and ``max_*`` combine by min and max."""

    sums: dict[str, np.ndarray] = field(default_factory=dict)
    frames: dict[str, list[Rows]] = field(default_factory=dict)

    def add(self, other: Partial) -> Partial:
        """``other``'s sums and rows added into this partial, in place (no new array each time);
        ``other`` is not changed. Returns this partial."""
        for key, v in other.sums.items():
            mine = self.sums.get(key)
            if isinstance(v, ByPosition):
                if mine is None:
                    mine = self.sums[key] = v.zeros()
                v.add_into(mine)
            elif mine is None:
                self.sums[key] = np.array(v, copy=True)
            else:
                how = np.minimum if key.startswith("min_") else np.maximum if key.startswith("max_") else np.add
                if mine.ndim:
                    how(mine, v, out=mine)
                else:
                    self.sums[key] = how(mine, v)
        for key, rows in other.frames.items():
            self.frames.setdefault(key, []).extend(rows)
        return self


@dataclass(frozen=True)
class ByPosition:
    """Sums by calendar position (groups × sessions × …) of one chunk, which holds only the
    positions its firm-events are at (``rows``, ascending; ``values``: groups × rows × …), so a
    chunk's r̄ sums take the memory of its positions, not of every session. Added into the table
    of every position: where a chunk has none the table keeps what it holds, as adding the zeros
    did (its sums are never −0: each is 0.0 plus the rows' sum)."""

    rows: IntArray
    values: np.ndarray
    sessions: int
    compiled: bool = False  # added by the compiled loop (the same bits, in place)

    def zeros(self) -> np.ndarray:
        return written_zeros((self.values.shape[0], self.sessions, *self.values.shape[2:]))

    def add_into(self, table: np.ndarray) -> None:
        if self.compiled and kernel.available():  # a process the sums travel to may not have it
            values = np.ascontiguousarray(self.values)
            if table.ndim == 2:  # a number at each position
                table, values = table[..., None], values[..., None]
            kernel.compiled("add_rows")(table, self.rows, values)
        else:
            table[:, self.rows] += self.values


def total(parts: Iterable[Partial]) -> Partial:
    out = Partial()
    for p in parts:
        out.add(p)
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
    rbar = _RbarSums(plan, np.unique(chunk.pos[est.rows]))
    calendar = {}  # the calendar-time test's sums by session, which each block adds to
    if "calendar-time" in plan.tests:
        calendar = {k: np.zeros((len(plan.windows), len(plan.groups), plan.sessions)) for k in ("cal", "cal_n")}
    out = Partial(frames={"excluded": [est.dropped]})
    for lo in range(0, max(len(est.rows), 1), BLOCK):
        block = est.block(slice(lo, lo + BLOCK))
        out.add(_block_partial(plan, chunk, loc, block, scale, rbar, calendar))
    out.sums.update(rbar.result() | calendar)
    incomplete = out.frames.pop("incomplete", [])
    if incomplete:  # the chunk's at once: a few firm-events a block, each block's a dozen steps
        rows = {k: np.concatenate([r[k] for r in incomplete]) for k in incomplete[0]}
        out.frames["excluded"] += _incomplete_rows(plan, rows, chunk)
    return out


def _block_partial(
    plan: Plan,
    chunk: Chunk,
    loc: Local,
    est: Estimates,
    scale,
    rbar: _RbarSums,
    calendar: dict[str, np.ndarray],
) -> Partial:
    fit = abnormal(plan, loc, est)
    ev = _take(chunk, est.rows)
    cars, var_car, n_missing, t = est.cars, est.var_car, est.n_missing, est.scar
    dof = est.n_obs - plan.model.k
    member = ev.member
    sums: dict[str, np.ndarray] = {}
    finite = np.isfinite(cars)
    # once, for the ranks and GRANK's sums (the compiled loops work out those they need as they go)
    sar = sars(plan, fit) if "grank" in plan.tests and not plan.kernel else None
    ranks, sar_ranks = grid_ranks(plan, fit, sar)
    share = fit.n_up / np.maximum(fit.n_valid, 1)
    weights = finite[:, :, None] & member[:, None, :]  # n × W × groups
    c0, t0 = np.where(finite, cars, 0.0), np.where(finite, t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        patell = np.where(dof > 2, dof / (dof - 2.0), 0.0)
    wf = weights.astype(np.float64)
    per_window = {"car": c0, "car2": c0**2, "scar": t0, "scar2": t0**2, "positive": (cars > 0).astype(np.float64)}
    per_event = {"n": np.ones(len(t0)), "patell": patell, "share": share}
    # each window's and group's sums of them all, a product for each window (windows × groups each)
    by_window = np.matmul(np.stack(list(per_window.values())).transpose(2, 0, 1), wf.transpose(1, 0, 2))
    by_event = np.matmul(np.stack(list(per_event.values())), wf.transpose(1, 0, 2))
    by_window, by_event = by_window.transpose(1, 0, 2), by_event.transpose(1, 0, 2)
    sums |= dict(zip(per_window, by_window, strict=True)) | dict(zip(per_event, by_event, strict=True))
    sums["min_dof"] = np.where(weights, dof[:, None, None], np.inf).min(axis=0, initial=np.inf)
    m = member.astype(np.float64)
    sums["group_ar"], sums["ar"] = group_window_sums(plan, fit.ar, m, finite)
    sums["group_ar_n"], sums["ar_n"] = group_window_sums(plan, fit.ar, m, finite, counted=True)
    sums["u"] = group_window_sums(plan, ranks, m, finite)[1]
    sums["group_n"] = m.sum(axis=0)
    sums["min_pos"] = np.where(member, ev.pos[:, None], 2**62).min(axis=0, initial=2**62)
    sums["max_pos"] = np.where(member, ev.pos[:, None], -1).max(axis=0, initial=-1)
    rbar.add(fit, ev)
    if calendar:
        _calendar_sums(plan, fit, ev, weights, calendar)
    if "grank" in plan.tests:
        assert scale is not None, "GRANK needs the first pass's 1 / s(SCAR)"
        count = sums["ar_n"][:, :, plan.est_slice]
        sums.update(_grank_sums(plan, fit, sar, sar_ranks, t, member, finite, weights, scale, count))
    frames = {"events": [_events_rows(plan, fit, ev)]}
    frames["car"] = [_car_rows(plan, ev, fit, cars, var_car, t, dof, n_missing)]
    if (some := np.flatnonzero(n_missing.any(axis=1))).size:  # put in words for the chunk at once
        kept = {"order": ev.order, "pos": ev.pos, "col": ev.col, "n_missing": n_missing, "ar": fit.ar}
        frames["incomplete"] = [{k: v[some] for k, v in kept.items()}]
    if plan.keep_ar:
        frames["ar"] = [_ar_rows(plan, fit, ev)]
    return Partial(sums, frames)


def _grank_sums(
    plan: Plan,
    fit: Fit,
    sar: Float64Array,
    rank,
    scar,
    member: BoolArray,
    finite: BoolArray,
    take: BoolArray,
    scale: Float64Array,
    count: Float64Array,
) -> dict[str, np.ndarray]:
    """GRANK's sums (Kolari & Pynnönen 2011): per window, group and estimation day, Σ U_it and
    the firm-events with a value (``count``: the AR counts' sums on the estimation days, a SAR
    being there where the AR is); Σ of the cumulative event day's U. Each firm-event's T_i SARs
    (``fit.n_valid``) and its SCAR* = SCAR · scale are ranked together: an estimation day's rank
    is its rank among the SARs (``sar``: :func:`~eventstudy.core.stream.ranks.sars`; ``rank``,
    zero where there is none), one up when above SCAR* (a half when tied), over T_i + 2. A
    window's firm-events are those of the group (``member``) with the window's SCAR (``finite``:
    n × W; ``take``, n × W × groups: both)."""
    size = fit.n_valid + 1.0
    inv = 1.0 / (size + 1)
    by_group = member * inv[:, None]  # each row's 1 / (T_i + 2) in its groups
    u = group_window_sums(plan, rank, by_group, finite)[1] - 0.5 * count
    summed, above, tied = _compare(plan, fit, sar, take, scar[:, :, None] * scale[None], inv)
    u += summed
    below = size[:, None, None] - 1 - above - tied  # each row's SARs below its SCAR* (n × W × groups)
    event = np.where(take, (1 + below + 0.5 * tied) * inv[:, None, None] - 0.5, 0.0).sum(axis=0)
    return {"grank_u": u, "grank_n": count, "grank_event": event}


def _compare(
    plan: Plan, fit: Fit, sar: Float64Array | None, take: BoolArray, bar: Float64Array, weight: Float64Array
) -> tuple[Float64Array, IntArray, IntArray]:
    """Each row's SARs (``sar``: :func:`~eventstudy.core.stream.ranks.sars`; worked out when None)
    against its SCAR* of each window and group (``bar``, n × W × groups), where it is the window's
    and the group's (``take``): 1 where above, ½ where tied (a SAR equal to SCAR*, rare, shares
    the two ranks), 0 elsewhere, times the row's ``weight``, summed over the rows one after
    another (numpy's sum over the first axis; the compiled loop adds them in its order, from each
    row's SARs as it reads the row) for each window and group (W × groups × estimation days); and
    each row's counts above and tied (n × W × groups; 0 where not taken)."""
    n, w, h = take.shape
    days = len(plan.est_cols)
    if plan.kernel:
        total, above, tied = np.empty((w * h, days)), np.empty((n, w * h), np.int64), np.empty((n, w * h), np.int64)
        flat = (np.ascontiguousarray(a.reshape(n, w * h)) for a in (take, bar))
        sigma = np.sqrt(fit.sigma2)
        kernel.compiled("compare_sars")(fit.ar, plan.est_slice.start, sigma, *flat, weight, total, above, tied)
        return total.reshape(w, h, days), above.reshape(n, w, h), tied.reshape(n, w, h)
    sar = sars(plan, fit) if sar is None else sar
    total, above, tied = np.empty((w, h, days)), np.zeros((n, w, h), np.int64), np.zeros((n, w, h), np.int64)
    for j in range(w):
        for g in range(h):
            rows = take[:, j, g]
            s = sar if rows.all() else sar[rows]
            v = bar[rows, j, g]
            up, equal = s > v[:, None], s == v[:, None]
            above[rows, j, g], tied[rows, j, g] = np.count_nonzero(up, axis=1), np.count_nonzero(equal, axis=1)
            terms = up.astype(np.float64)
            if tied[rows, j, g].any():
                terms += 0.5 * equal
            terms *= weight[rows][:, None]
            total[j, g] = np.add.reduce(terms, axis=0, initial=0.0)
    return total, above, tied


def group_window_sums(
    plan: Plan, values: Float64Array, weights: Float64Array, finite: BoolArray, counted: bool = False
) -> tuple[Float64Array, Float64Array]:
    """Σ over a block's firm-events of ``values`` (n × D; NaN counts as 0, or with ``counted`` each
    value as 1 where there is one, else 0) times their weight in each group (``weights``: n ×
    groups, 1 or 0 or a weight), added one firm-event after another from 0.0, for each group
    (groups × D), and for each window and group (W × groups × D): the group's sums less the same
    sums of the firm-events without the window's CAR (``finite``: n × W), few where any. The
    compiled loop reads the block's values once for every window, with no zero-filled copy of
    them; numpy's sum over the first axis adds them in the same order. (BLAS's products, before,
    chose their own order; with the copies they took a thread 1.2 s a million firm-events, the
    compiled loop 0.45 s.)"""
    h, w = weights.shape[1], finite.shape[1]
    if plan.kernel:
        total, out = np.empty((h, values.shape[1])), np.empty((w, h, values.shape[1]))
        contiguous = (np.ascontiguousarray(a) for a in (values, weights, finite))
        kernel.compiled("group_window_sums")(*contiguous, counted, total, out)
        return total, out
    ok = np.isfinite(values)
    zero_filled = ok.astype(np.float64) if counted else np.where(ok, values, 0.0)

    def summed(rows) -> Float64Array:  # C-ordered: numpy adds the rows of these one after another
        each = (np.ascontiguousarray(weights[rows, g, None] * zero_filled[rows]) for g in range(h))
        return np.stack([np.add.reduce(terms, axis=0, initial=0.0) for terms in each])

    total = summed(slice(None))
    out = np.repeat(total[None], w, axis=0)
    for j in range(w):
        missing = ~finite[:, j]
        if missing.any():
            out[j] = total - summed(missing)
    return total, out


def _zero_filled_rows(plan: Plan, ar: Float64Array) -> tuple[Float64Array, Float64Array, BoolArray]:
    """The residuals (``ar`` on the estimation days; NaN where not valid) demeaned and scaled to
    unit length over each row's own days (zero elsewhere), the days' indicators over √(their
    number), and which rows count (3 days or more, some variance); rows that do not count are
    zero. Each row's sums are numpy's pairwise sums (the compiled loop's too)."""
    est = plan.est_slice
    if plan.kernel:
        shape = (len(ar), est.stop - est.start)
        z, w, ok = np.empty(shape), np.empty(shape), np.empty(len(ar), bool)
        kernel.compiled("standardized_rows")(ar, est.start, est.stop, z, w, ok)
        return z, w, ok
    resid = ar[:, est]
    valid = np.isfinite(resid)
    counts = valid.sum(axis=1)
    z = np.where(valid, resid, 0.0)
    z -= (z.sum(axis=1) / np.maximum(counts, 1))[:, None]
    z *= valid
    norm = np.sqrt((z * z).sum(axis=1))
    ok = (counts >= 3) & (norm > 0)
    z *= np.divide(1.0, norm, out=np.zeros(len(z)), where=ok)[:, None]
    w = valid * np.divide(1.0, np.sqrt(counts), out=np.zeros(len(z)), where=ok)[:, None]
    return z, w, ok


class _RbarSums:
    """Per group and calendar position: the sums of the standardized residuals z and of the day
    weights w over the firm-events there, and their number; per group the rows that count, the
    valid estimation days and the days any row has (to tell complete residuals). r̄ needs
    nothing else; blocks of firm-events add into them in place. The positions are the chunk's
    (``positions``, ascending: those of its firm-events) until :meth:`result`."""

    def __init__(self, plan: Plan, positions: IntArray):
        groups, length = len(plan.groups), len(plan.est_cols)
        self.sums = {
            "z": written_zeros((groups, len(positions), length)),  # read by the first additions
            "w": written_zeros((groups, len(positions), length)),
            "at": np.zeros((groups, len(positions))),
            "ok": np.zeros(groups),
            "valid_days": np.zeros(groups),
            "day_any": np.zeros((groups, length), bool),
        }
        if not plan.apart:  # one date: the sums by coverage stratum too (inference.rbar.identity_rbar)
            self.sums |= {
                "z_band": np.zeros((groups, BANDS, length)),
                "w_band": np.zeros((groups, BANDS, length)),
                "n_band": np.zeros((groups, BANDS)),
            }
        self.plan, self.positions = plan, positions

    def result(self) -> dict[str, np.ndarray | ByPosition]:
        """The sums, those by position placed among every session's (:class:`ByPosition`)."""
        plan = self.plan
        placed = {k: ByPosition(self.positions, self.sums[k], plan.sessions, plan.kernel) for k in ("z", "w", "at")}
        return self.sums | placed

    def add(self, fit: Fit, ev: Chunk) -> None:
        plan, out = self.plan, self.sums
        valid = fit.valid[:, plan.est_slice]
        days = fit.n_valid  # each row's valid estimation days
        place = np.searchsorted(self.positions, ev.pos)  # each row's among the chunk's positions
        m = ev.member.astype(np.float64)
        z = None
        if plan.kernel:  # each row standardized and added where it is in cache: no z and w of the block
            ok = np.empty(len(place), bool)
            order = np.argsort(place, kind="stable")
            member = np.ascontiguousarray(ev.member)
            sums = (out["z"], out["w"], out["at"], out["day_any"], ok)
            kernel.compiled("rbar_sums")(fit.ar, fit.valid, plan.est_slice.start, member, order, place, *sums)
        else:
            z, w, ok = _zero_filled_rows(plan, fit.ar)  # fit.ar: NaN on days that are not valid
            for g in range(len(plan.groups)):
                rows = np.flatnonzero(ev.member[:, g])
                if not len(rows):
                    continue
                at, where = np.unique(place[rows], return_inverse=True)
                by_position = sparse.csr_matrix((np.ones(len(rows)), (where, rows)), shape=(len(at), len(z)))
                out["z"][g, at] += by_position @ z
                out["w"][g, at] += by_position @ w
                out["at"][g, at] += np.bincount(where, minlength=len(at))
            out["day_any"] |= (m.T @ valid.astype(np.float64)) > 0  # a row of the group has the day
        if "z_band" in out:
            if z is None:
                z, w, _ = _zero_filled_rows(plan, fit.ar)
            band = coverage_band(days, valid.shape[1])
            for g in range(len(plan.groups)):
                rows = np.flatnonzero(ev.member[:, g] & ok)
                by_band = sparse.csr_matrix((np.ones(len(rows)), (band[rows], rows)), shape=(BANDS, len(z)))
                out["z_band"][g] += by_band @ z
                out["w_band"][g] += by_band @ w
                out["n_band"][g] += np.bincount(band[rows], minlength=BANDS)
        out["ok"] += m.T @ ok.astype(np.float64)
        out["valid_days"] += m.T @ days.astype(np.float64)


def _calendar_sums(plan: Plan, fit: Fit, ev: Chunk, weights: BoolArray, out: dict[str, np.ndarray]) -> None:
    """Per window and group: the ARs on each calendar session and their count, added into
    ``out``'s ``cal`` and ``cal_n`` (windows × groups × sessions, a chunk's: its blocks add to the
    same sums, with no sums of their own to add up), firm-event after firm-event, day after day
    (numpy's unbuffered ``add.at`` in the compiled loop's order). Before, each block's sums were
    added into the chunk's: two tables of every session zeroed and added a block."""
    t = plan.sessions
    if plan.kernel:
        spans = np.array([[c[0], c[-1] + 1] for c in (np.flatnonzero(plan.inside(w)) for w in plan.windows)])
        compiled = kernel.compiled("calendar_sums")
        compiled(fit.ar, ev.pos, plan.grid, spans, np.ascontiguousarray(weights), out["cal"], out["cal_n"])
        return
    for j, w in enumerate(plan.windows):
        cols = np.flatnonzero(plan.inside(w))
        ar = fit.ar[:, cols]
        session = ev.pos[:, None] + plan.grid[cols][None, :]
        ok = np.isfinite(ar) & (session >= 0) & (session < t)
        for g in range(len(plan.groups)):
            take = ok & weights[:, j, g][:, None]
            np.add.at(out["cal"][j, g], session[take], ar[take])
            np.add.at(out["cal_n"][j, g], session[take], 1.0)


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
        "car": cars.ravel(),
        "se": np.sqrt(var_car).ravel(),
        "t": t.ravel(),  # its p-value comes after the passes (stream.finish), beside the frames
        "dof": np.repeat(dof, nw),
        "n_est": np.repeat(fit.n_valid, nw),
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


def _incomplete_rows(plan: Plan, rows: Rows, chunk: Chunk) -> list[Rows]:
    """Firm-events without a CAR in a window, and why (the words of the in-memory engine), from
    a chunk's firm-events with missing days (``rows``: their ``order``, ``pos``, ``col``,
    ``n_missing`` and ARs ``ar``). The days are found for all of them at once, and each distinct
    pattern of missing days is put in words once a chunk. (At 1,000,000 firm-events, the steps
    for each block's few such firm-events took 0.44 s of a thread; the chunk's at once, 0.18 s.)"""
    t = plan.sessions
    j, i = np.nonzero(rows["n_missing"].T)  # by window, then by firm-event
    at = rows["pos"][i, None] + plan.grid[None, :]
    ok = (at >= 0) & (at < t)
    np.clip(at, 0, t - 1, out=at)
    inside = np.stack([plan.inside(w) for w in plan.windows])[j]
    gap = inside & ~np.isfinite(rows["ar"][i])
    ret = chunk.returns[np.clip(at - chunk.start, 0, len(chunk.returns) - 1), rows["col"][i, None]]
    # the days past the data first (missing_days names them so, whatever the clipped look-ups read there)
    masks = [gap & ~ok, gap & ~np.isfinite(ret)] + [gap & ~np.isfinite(plan.x[at, k]) for k in range(len(plan.names))]
    packed = np.packbits(np.stack(masks, axis=1), axis=2).reshape(len(i), -1)  # each row's pattern
    reasons, said = [], {}
    for k, pattern in enumerate(packed):
        why = said.get(key := pattern.tobytes())
        if why is None:
            no_x = {name: m[k] for name, m in zip(plan.names, masks[2:], strict=True)}
            why = said[key] = exclusions.missing_days(plan.grid, masks[0][k], masks[1][k], no_x)
        reasons.append(why)
    stage = np.array([f"window {w.label}" for w in plan.windows], object)[j]
    return [{"order": rows["order"][i], "stage": stage, "reason": np.array(reasons, object)}]
