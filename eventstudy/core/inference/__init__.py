"""Tests of the cumulative average abnormal return (CAAR) of a group of firm-events.

Every test takes a :class:`Sample` (one group, one window) and returns a
:class:`TestStatistic`, or an :class:`InvalidTestStatistic` with its reason when it cannot be
computed. ``TESTS`` lists them with the tests that hold their size under cross-sectional
correlation (one shared event date) first: Kolari–Pynnönen, the portfolio test, the rank test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from scipy import stats

from ..._typing import BoolArray, Float64Array
from ..windows import as_slice


@dataclass(frozen=True)
class TestStatistic:
    """A test's statistic, two-sided p-value and reference distribution."""

    name: str
    stat: float
    pvalue: float
    dist: str
    n: int
    null: str = "CAAR = 0"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.name}: H0 {self.null}; stat {self.stat:.4f} ~ {self.dist}, p = {self.pvalue:.4g} (N = {self.n})"


@dataclass(frozen=True)
class InvalidTestStatistic:
    """A test that could not be computed, and why."""

    name: str
    reason: str
    n: int = 0
    stat: float = float("nan")
    pvalue: float = float("nan")
    dist: str = ""

    def __str__(self) -> str:
        return f"{self.name}: not computed ({self.reason})"

    @property
    def detail(self) -> str:
        return f"not computed: {self.reason}"


class Summary(Protocol):
    """What the tests read of one group's firm-events in one window: the in-memory
    :class:`Sample` computes it from the arrays, the streaming core
    (:mod:`eventstudy.core.stream`) from sums combined over chunks of firms."""

    n: int
    car_mean: float
    car_sd: float  # ddof 1
    scar_sum: float
    scar_mean: float
    scar_sd: float
    patell_variance: float  # Σ (L_i − K)/(L_i − K − 2)
    min_dof: float
    rbar: float
    rbar_method: str
    overlapping: bool  # r̄ is the overlap-weighted r̄_eff of events on different dates
    ar_p: Float64Array  # the mean AR on each relative day
    est_days: BoolArray
    window: BoolArray
    ubar: Float64Array  # the mean standardized rank on each relative day
    days: np.ndarray | None
    p_hat: float
    n_positive: int
    has_sigma: bool

    def calendar_means(self) -> Float64Array | None: ...

    def grank_means(self) -> tuple[Float64Array, np.ndarray]: ...


@dataclass(frozen=True)
class Sample:
    """One group's firm-events with a CAR in one window.

    ``car``, ``scar``, ``dof`` (L_i − K) are per firm; ``ar`` (n × G) holds ARs on every
    relative day (residuals in the estimation window), ``est`` marks valid estimation days,
    ``window`` the window's days on the grid, ``rbar`` the mean pairwise correlation of the
    estimation residuals on common calendar days; :meth:`build` computes it and the daily means
    from the days' session ``dates`` (n × G, or 1 × G when all firms share one event date).
    ``days``, when given, labels the G columns with their days relative to the event.
    """

    car: Float64Array
    scar: Float64Array
    dof: np.ndarray
    ar: Float64Array
    est: BoolArray
    window: BoolArray
    rbar: float
    ar_p: Float64Array
    ubar: Float64Array
    positive_share: Float64Array
    days: np.ndarray | None = None
    positions: np.ndarray | None = None
    sigma: Float64Array | None = None
    overlap: Float64Array | None = None
    sar_ranks: tuple[Float64Array, Float64Array] | None = None
    rbar_method: str = ""  # how r̄ was computed when not pairwise over common days
    overlap_n: int = 0  # the firm-events ``overlap`` sums over (the group's, for every window)

    @classmethod
    def build(
        cls,
        car,
        scar,
        dof,
        ar,
        est,
        window,
        dates,
        ranks=None,
        days=None,
        positions=None,
        sigma=None,
        span=None,
        rbar: tuple[float, str] | None = None,
        overlap: tuple[Float64Array, int, str] | None = None,
    ) -> Sample:
        """A sample with its window-independent parts computed once: r̄, the group's mean AR
        on each day (AR_pt), the mean standardized rank on each day (Ū_t), and each firm's share
        of estimation days with a positive AR. ``ranks``, each firm's :func:`standardized_ranks`,
        are computed here unless given (they depend on the firm alone, not on the group).

        ``positions`` (each event's session in calendar time) and ``sigma`` (σ̂_i) serve the
        tests of events on different dates: when the positions differ, r̄ is the
        overlap-weighted r̄_eff of :func:`overlap_sums` over the pairs whose windows (at most
        ``span`` sessions long) can meet. On one date, ``rbar`` (value, method) is the group's
        r̄ when the caller has it (computed once for all windows), else :func:`group_rbar`; on
        different dates ``overlap`` (the :func:`overlap_sums` and how many firm-events they
        sum over, and how the sums were made) likewise."""
        ar, est = np.asarray(ar, float), np.asarray(est, bool)
        ranks = standardized_ranks(ar) if ranks is None else np.asarray(ranks, float)
        given, overlap, overlap_n, method = overlap, None, 0, ""
        if positions is not None and len(positions) > 1 and (positions != positions[0]).any():
            if given is None:
                sums, how = overlap_estimate(ar, est, np.asarray(positions), span or int(np.sum(window)))
                given = (sums, len(ar), how)
            overlap, overlap_n, method = given
            rbar = overlap_rbar(overlap, overlap_n, int(np.sum(window)))
        else:
            if rbar is None:
                rbar = group_rbar(calendar_residuals(ar, est, dates)) if len(ar) > 1 else (np.nan, "")
            rbar, method = rbar
        sar_ranks = None if sigma is None or overlap is None else _sar_ranks(ar, est, np.asarray(sigma, float))
        share = (est & (ar > 0)).sum(axis=1) / np.maximum(est.sum(axis=1), 1)
        return cls(
            np.asarray(car, float),
            np.asarray(scar, float),
            np.asarray(dof),
            ar,
            est,
            np.asarray(window, bool),
            rbar,
            column_mean(ar),
            column_mean(ranks),
            share,
            None if days is None else np.asarray(days),
            None if positions is None else np.asarray(positions),
            None if sigma is None else np.asarray(sigma, float),
            overlap,
            sar_ranks,
            method,
            overlap_n,
        )

    def for_window(self, car, scar, window) -> Sample:
        """The same firms and days, another window's CARs (and, for events on different dates,
        the r̄_eff of that window's length)."""
        window = np.asarray(window, bool)
        rbar = self.rbar if self.overlap is None else overlap_rbar(self.overlap, self.overlap_n, int(window.sum()))
        return replace(self, car=np.asarray(car, float), scar=np.asarray(scar, float), window=window, rbar=rbar)

    @property
    def one_date(self) -> bool:
        return self.positions is None or len(self.positions) < 2 or bool((self.positions == self.positions[0]).all())

    # what the tests read (:class:`Summary`); the streaming core's sums provide the same
    @property
    def n(self) -> int:
        return len(self.car)

    @property
    def car_mean(self) -> float:
        return self.car.mean()

    @property
    def car_sd(self) -> float:
        return self.car.std(ddof=1)

    @property
    def scar_sum(self) -> float:
        return self.scar.sum()

    @property
    def scar_mean(self) -> float:
        return self.scar.mean()

    @property
    def scar_sd(self) -> float:
        return self.scar.std(ddof=1)

    @property
    def patell_variance(self) -> float:
        return (self.dof / (self.dof - 2.0)).sum()

    @property
    def min_dof(self) -> float:
        return self.dof.min() if len(self.dof) else np.inf

    @property
    def est_days(self) -> BoolArray:
        return self.est.any(axis=0)

    @property
    def p_hat(self) -> float:
        return self.positive_share.mean() if self.n else np.nan

    @property
    def n_positive(self) -> int:
        return (self.car > 0).sum()

    @property
    def overlapping(self) -> bool:
        return self.overlap is not None

    @property
    def has_sigma(self) -> bool:
        return self.sigma is not None

    def calendar_means(self) -> Float64Array | None:
        """AR_p,s for each calendar session s inside at least one event window, in session
        order (None when the events' calendar positions are not known)."""
        if self.positions is None or self.days is None:
            return None
        cols = np.flatnonzero(self.window)
        ar = self.ar[:, cols]
        session = self.positions[:, None] + self.days[cols][None, :]
        ok = np.isfinite(ar)
        _, which = np.unique(session[ok], return_inverse=True)
        return np.bincount(which, ar[ok]) / np.bincount(which)

    def grank_means(self) -> tuple[Float64Array, np.ndarray]:
        """GRANK's Ū_t and n_t over the estimation days, the cumulative event day last."""
        sar, rank = self.sar_ranks or _sar_ranks(self.ar, self.est, self.sigma)
        v = (self.scar / self.scar.std(ddof=1))[:, None]
        # the cumulative event day joins each firm's ranked estimation days: ranks above it move up
        below, tied = (sar < v).sum(axis=1), (sar == v).sum(axis=1)
        size = np.isfinite(sar).sum(axis=1) + 1
        with np.errstate(invalid="ignore"):
            est_u = (rank + (sar > v) + 0.5 * (sar == v)) / (size[:, None] + 1) - 0.5
        u = np.column_stack([est_u, (1 + below + 0.5 * tied) / (size + 1) - 0.5])
        return column_mean(u), np.isfinite(u).sum(axis=0)


def column_mean(a: Float64Array) -> Float64Array:
    """Mean of each column over its finite entries (NaN where a column has none)."""
    valid = np.isfinite(a)
    count = valid.sum(axis=0)
    total = a.sum(axis=0) if (count == len(a)).all() else np.where(valid, a, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def _t_result(name: str, stat: float, df: int, n: int) -> TestStatistic:
    return TestStatistic(name, float(stat), float(2 * stats.t.sf(abs(stat), df)), f"t({df})", n)


def _z_result(name: str, stat: float, n: int) -> TestStatistic:
    return TestStatistic(name, float(stat), float(2 * stats.norm.sf(abs(stat))), "N(0,1)", n)


def csect_t(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Cross-sectional t: CAAR / (s(CAR)/√N), s with ddof 1, ~ t(N − 1). Brown & Warner (1985)."""
    if s.n < 2:
        return InvalidTestStatistic("csect-t", "fewer than 2 firms", s.n)
    return _t_result("csect-t", s.car_mean / (s.car_sd / np.sqrt(s.n)), s.n - 1, s.n)


def patell(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Patell (1976) Z = Σ SCAR_i / √Σ (L_i − K)/(L_i − K − 2) ~ N(0, 1)."""
    if s.n < 1 or s.min_dof <= 2:
        return InvalidTestStatistic("patell", "a firm has 2 or fewer residual degrees of freedom", s.n)
    return _z_result("patell", s.scar_sum / np.sqrt(s.patell_variance), s.n)


def _bmp(s: Summary) -> float:
    return s.scar_mean / (s.scar_sd / np.sqrt(s.n))


def bmp(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Boehmer, Musumeci & Poulsen (1991): mean(SCAR) / (s(SCAR)/√N) ~ t(N − 1)."""
    if s.n < 2:
        return InvalidTestStatistic("bmp", "fewer than 2 firms", s.n)
    return _t_result("bmp", _bmp(s), s.n - 1, s.n)


def mean_residual_correlation(resid: Float64Array, block_cells: int = 1 << 22) -> float:
    """r̄: the mean over pairs i ≠ j of corr(ε̂_i, ε̂_j) on their common days (n × D, NaN = absent).

    Without missing values it uses Σ_{i≠j} z_i′z_j = ‖Σ z_i‖² − N for unit-norm demeaned z
    (O(N·D)); otherwise pairwise-complete correlations from masked cross-products, over pairs
    with at least 3 common days, a block of rows at a time so that no matrix exceeds
    ``block_cells`` entries (time still grows as N²·D)."""
    n = len(resid)
    valid = np.isfinite(resid)
    if valid.all():
        z = resid - resid.mean(axis=1, keepdims=True)
        total = (1.0 / np.sqrt(np.einsum("ij,ij->i", z, z))) @ z  # Σ_i z_i / ‖z_i‖
        return float((total @ total - n) / (n * (n - 1)))
    m = valid.astype(float)
    x = np.where(valid, resid, 0.0)
    xx = x * x
    total, count = 0.0, 0
    step = max(1, block_cells // max(n, 1))
    for lo in range(0, n, step):
        rows = slice(lo, min(n, lo + step))
        cnt = m[rows] @ m.T
        sx, sy = x[rows] @ m.T, m[rows] @ x.T  # Σ x_i and Σ x_j over the days both have
        sxx, syy = xx[rows] @ m.T, m[rows] @ xx.T
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = x[rows] @ x.T - sx * sy / cnt
            corr = cov / np.sqrt((sxx - sx**2 / cnt) * (syy - sy**2 / cnt))
        pair = cnt >= 3
        pair[np.arange(len(cnt)), np.arange(rows.start, rows.stop)] = False
        values = corr[pair & np.isfinite(corr)]
        total, count = total + values.sum(), count + len(values)
    return float(total / count) if count else float("nan")


PAIRWISE_MAX = 2000  # above this many firms with a missing day, r̄ comes from the sum identity
IDENTITY_METHOD = "sum identity over common days, by coverage stratum"
OVERLAP_IDENTITY_METHOD = "sum identity over common days"


COVERAGE_BAND = 0.025  # the identity's strata: firms whose shares of valid days differ by less than this


def identity_rbar(resid: Float64Array) -> float:
    """r̄ of a large sample with missing days in O(N·D), by the sum identity of
    :func:`mean_residual_correlation`: each firm's residuals demeaned and scaled to unit norm
    over its own days (z_i, zero on days it lacks), so that z_i′z_j ≈ ρ_ij·c_ij with
    c_ij = |common days| / √(|days of i|·|days of j|); w_i the indicator of firm i's days
    divided by √|days of i| (so w_i′w_j = c_ij). Over all pairs,

        Σ_{i≠j} z_i′z_j / Σ_{i≠j} c_ij = (‖Σ z_i‖² − N) / (‖Σ w_i‖² − N)

    is a c-weighted mean of the pairs' correlations: exact on complete data (every c_ij = 1),
    but biased when the firms that miss days are also more (or less) correlated than the rest
    — pairs of illiquid firms weigh less. So the firms are put in strata of equal coverage
    (shares of valid days within :data:`COVERAGE_BAND`), the identity taken within each pair of
    strata (where c_ij hardly varies), and the strata's means weighted by their numbers of
    pairs: the unweighted mean of the pairs' correlations, up to c's variation inside a
    stratum. Half of 3,000 firms with 0.5 % of days missing and ρ = 0.45, half with 20 % and
    ρ = 0.15: pairwise 0.2844, plain identity 0.2927, stratified 0.2843
    (``tests/test_inference.py``)."""
    z, w = _zero_filled(resid)
    counts = np.isfinite(resid).sum(axis=1)
    ok = (counts >= 3) & (np.abs(z).sum(axis=1) > 0)
    if ok.sum() < 2:
        return float("nan")
    stratum = coverage_band(counts[ok], resid.shape[1])
    zs, ws = (np.zeros((BANDS, resid.shape[1])) for _ in range(2))
    np.add.at(zs, stratum, z[ok])
    np.add.at(ws, stratum, w[ok])
    return stratified_identity(zs, ws, np.bincount(stratum, minlength=BANDS).astype(float))


BANDS = int(np.ceil(1 / COVERAGE_BAND)) + 1


def coverage_band(counts: np.ndarray, days: int) -> np.ndarray:
    """Each firm's stratum: its share of missing days in steps of :data:`COVERAGE_BAND`."""
    return np.minimum(np.floor((1 - np.asarray(counts) / days) / COVERAGE_BAND), BANDS - 1).astype(np.int64)


def stratified_identity(zs: Float64Array, ws: Float64Array, n: Float64Array) -> float:
    """r̄ from the strata's sums of z and w (``zs``, ``ws``: strata × days) and sizes ``n``: the
    identity within each pair of strata, weighted by its number of pairs (:func:`identity_rbar`)."""
    total = weight = 0.0
    full = np.flatnonzero(n > 0)
    for a in full:
        for b in full[full >= a]:
            same = a == b
            s = (zs[a] @ zs[a] - n[a]) / 2 if same else zs[a] @ zs[b]
            c = (ws[a] @ ws[a] - n[a]) / 2 if same else ws[a] @ ws[b]
            pairs = n[a] * (n[a] - 1) / 2 if same else n[a] * n[b]
            if pairs > 0 and c > 0:
                total, weight = total + pairs * s / c, weight + pairs
    return float(total / weight) if weight > 0 else float("nan")


def group_rbar(resid: Float64Array) -> tuple[float, str]:
    """A group's r̄ and how it was computed: pairwise over common days (exact) when nothing is
    missing or the group is small enough (:data:`PAIRWISE_MAX`), else :func:`identity_rbar`
    (never all N² pairs of a large group)."""
    if np.isfinite(resid).all() or len(resid) <= PAIRWISE_MAX:
        return mean_residual_correlation(resid), ""
    return identity_rbar(resid), IDENTITY_METHOD


def calendar_residuals(ar: Float64Array, est: BoolArray, dates: np.ndarray) -> Float64Array:
    """Estimation residuals on the union of calendar dates (firms × dates, NaN = absent).
    When every firm-event has the same dates (one event date; ``dates`` may then be 1 × G),
    event time is calendar time."""
    if len(dates) <= 1 or (dates == dates[:1]).all():
        days = as_slice(np.flatnonzero(est.any(axis=0)))
        return np.where(est[:, days], ar[:, days], np.nan)
    dates = np.broadcast_to(dates, ar.shape)
    uniq, inv = np.unique(dates[est], return_inverse=True)
    out = np.full((len(ar), len(uniq)), np.nan)
    out[np.nonzero(est)[0], inv] = ar[est]
    return out


MIN_COMMON_SESSIONS = 30


def overlap_pairs(positions: np.ndarray, span: int, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j), i ≠ j counted once, with |pos_i − pos_j| < ``span``: the events whose
    windows of ``span`` sessions can share a day, found by sorting (cost grows with the pairs
    found, not with N²); ``pos_i <= pos_j`` in each pair. With ``among`` (a boolean mask), only
    the pairs with at least one event of ``among``."""
    positions = np.asarray(positions)
    order = np.argsort(positions, kind="stable")
    p = positions[order]
    mine = np.arange(len(p)) if among is None else np.flatnonzero(np.asarray(among)[order])
    lo = np.searchsorted(p, p[mine] - span, side="right") if among is not None else mine + 1
    hi = np.searchsorted(p, p[mine] + span, side="left")
    counts = hi - lo
    first = np.repeat(mine, counts)
    second = np.repeat(lo, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    if among is not None:  # drop i = j, and keep a pair of two ``among`` events once
        both = np.asarray(among)[order][second]
        keep = (first != second) & (~both | (first < second))
        first, second = first[keep], second[keep]
    first, second = order[first], order[second]
    swap = positions[first] > positions[second]
    return np.where(swap, second, first), np.where(swap, first, second)


def overlap_sums(
    ar: Float64Array, est: BoolArray, positions: np.ndarray, span: int, chunk: int = 1 << 21
) -> Float64Array:
    """:func:`overlap_estimate`'s sums."""
    return overlap_estimate(ar, est, positions, span, chunk)[0]


def overlap_estimate(
    ar: Float64Array, est: BoolArray, positions: np.ndarray, span: int, chunk: int = 1 << 21
) -> tuple[Float64Array, str]:
    """Σ ρ_ij over the pairs of events whose positions differ by d, for d = 0 … span − 1 (the
    pairs whose windows of ``span`` sessions can meet). ρ_ij is the correlation of the two
    events' estimation residuals on the calendar sessions both estimation windows hold
    (pairwise complete; 0 for a pair with fewer than :data:`MIN_COMMON_SESSIONS` of them).

    Pairs of events whose estimation residuals are complete are summed without being formed:
    with the residuals standardized over the common span, Σ_{i at p, j at p+d} ρ_ij is the dot
    product of two position sums, so the cost is O(span · N · L). Pairs with a missing day
    are formed (:func:`overlap_pairs`) and correlated one by one, ``chunk`` cells at a time, up to
    :data:`PAIRWISE_MAX_PAIRS` of them; beyond, by the sum identity (:func:`_gap_pair_sums`). The
    method is returned with the sums: "" when exact, else :data:`OVERLAP_IDENTITY_METHOD`."""
    cols = np.flatnonzero(est.any(axis=0))
    resid = np.where(est[:, cols], ar[:, cols], np.nan)
    length = resid.shape[1]
    positions = np.asarray(positions)
    complete = np.isfinite(resid).all(axis=1)
    sums = np.zeros(span)
    rows = np.flatnonzero(complete)
    rows = rows[np.argsort(positions[rows], kind="stable")]  # by position: sums by reduceat
    full, pos = resid[rows], positions[rows]
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]]) if len(pos) else np.array([], int)
    where = pos[starts]
    for d in range(min(span, length - MIN_COMMON_SESSIONS + 1) if len(rows) else 0):
        front = np.add.reduceat(_standardized(full[:, d:]), starts, axis=0)
        if d == 0:
            sums[0] += (np.einsum("ij,ij->", front, front) - len(rows)) / 2
            continue
        back = np.add.reduceat(_standardized(full[:, : length - d]), starts, axis=0)
        a, b = _apart(where, d)
        sums[d] += np.einsum("ij,ij->", front[a], back[b])
    first, second = overlap_pairs(positions, span, among=~complete)
    if len(first) > PAIRWISE_MAX_PAIRS:  # too many pairs to correlate one by one: the identity
        return sums + _gap_pair_sums(resid, positions, span, sums), OVERLAP_IDENTITY_METHOD
    offset = positions[second] - positions[first]
    for d in np.unique(offset[offset < length]):
        sel = np.flatnonzero(offset == d)
        step = max(1, chunk // max(length - d, 1))
        for lo in range(0, len(sel), step):
            part = sel[lo : lo + step]
            sums[d] += _row_correlation(resid[first[part], d:], resid[second[part], : length - d]).sum()
    return sums, ""


PAIRWISE_MAX_PAIRS = 100_000  # pairs with a missing day beyond which overlap_sums uses the identity


def _gap_pair_sums(resid: Float64Array, positions: np.ndarray, span: int, complete_sums: Float64Array) -> Float64Array:
    """Σ ρ_ij at each distance d over the pairs with a missing day, without forming them: the
    weighted sum identity of :func:`identity_rbar` on position sums over all events (each
    standardized over its own days of the common span, zero where missing), less the complete
    pairs' exact part (``complete_sums``), scaled from the pairs' share of common days to their
    number. O(span · N · L), within about 10⁻³ of the pairwise sums' mean (a test bounds it)."""
    length = resid.shape[1]
    order = np.argsort(positions, kind="stable")
    x, pos = resid[order], positions[order]
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    where, size = pos[starts], np.diff(np.r_[starts, len(pos)])
    complete = np.isfinite(x).all(axis=1)
    n_complete = np.add.reduceat(complete.astype(float), starts) if len(pos) else np.array([])
    out = np.zeros(span)
    for d in range(min(span, length - MIN_COMMON_SESSIONS + 1) if len(pos) else 0):
        zf, wf = _zero_filled(x[:, d:])
        if d == 0:
            z, w = np.add.reduceat(zf, starts, axis=0), np.add.reduceat(wf, starts, axis=0)
            s = (np.einsum("ij,ij->", z, z) - np.einsum("ij,ij->", zf, zf)) / 2
            c = (np.einsum("ij,ij->", w, w) - np.einsum("ij,ij->", wf, wf)) / 2
            complete_pairs = np.sum(n_complete * (n_complete - 1)) / 2
            pairs = np.sum(size * (size - 1)) / 2 - complete_pairs
        else:
            zb, wb = _zero_filled(x[:, : length - d])
            front_z, front_w = np.add.reduceat(zf, starts, axis=0), np.add.reduceat(wf, starts, axis=0)
            back_z, back_w = np.add.reduceat(zb, starts, axis=0), np.add.reduceat(wb, starts, axis=0)
            a, b = _apart(where, d)
            s = np.einsum("ij,ij->", front_z[a], back_z[b])
            c = np.einsum("ij,ij->", front_w[a], back_w[b])
            complete_pairs = np.sum(n_complete[a] * n_complete[b])
            pairs = np.sum(size[a] * size[b]) - complete_pairs
        if pairs > 0 and c - complete_pairs > 0:  # complete pairs share all their days: c_ij = 1
            out[d] = (s - complete_sums[d]) / (c - complete_pairs) * pairs
    return out


def _apart(where: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (a, b) of the sorted, distinct positions ``where`` with where[b] = where[a] + d."""
    later = np.searchsorted(where, where + d)
    hit = later < len(where)
    hit[hit] = where[later[hit]] == where[hit] + d
    return np.flatnonzero(hit), later[hit]


def _zero_filled(x: Float64Array) -> tuple[Float64Array, Float64Array]:
    """Each row demeaned and scaled to unit length over its own days, zero on days it lacks;
    and its days' indicator over the square root of their number."""
    valid = np.isfinite(x)
    counts = valid.sum(axis=1)
    mean = np.where(valid, x, 0.0).sum(axis=1) / np.maximum(counts, 1)
    z = np.where(valid, x - mean[:, None], 0.0)
    norm = np.sqrt(np.einsum("ij,ij->i", z, z))[:, None]
    z = np.divide(z, norm, out=np.zeros_like(z), where=norm > 0)
    w = np.divide(valid, np.sqrt(counts)[:, None], out=np.zeros(x.shape), where=counts[:, None] > 0)
    return z, w


def _standardized(x: Float64Array) -> Float64Array:
    """Each row demeaned and scaled to unit length (a row without variance becomes zeros)."""
    z = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->i", z, z))[:, None]
    return np.divide(z, norm, out=np.zeros_like(z), where=norm > 0)


def _row_correlation(x: Float64Array, y: Float64Array) -> Float64Array:
    """Correlation of each row of ``x`` with the same row of ``y`` over the columns both have
    (0 with fewer than :data:`MIN_COMMON_SESSIONS` of them, or no variance)."""
    both = np.isfinite(x) & np.isfinite(y)
    cnt = both.sum(axis=1)
    x, y = np.where(both, x, 0.0), np.where(both, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = x.sum(axis=1) / cnt, y.sum(axis=1) / cnt
        dx, dy = np.where(both, x - mx[:, None], 0.0), np.where(both, y - my[:, None], 0.0)
        r = np.einsum("ij,ij->i", dx, dy) / np.sqrt(np.einsum("ij,ij->i", dx, dx) * np.einsum("ij,ij->i", dy, dy))
    return np.where((cnt >= MIN_COMMON_SESSIONS) & np.isfinite(r), r, 0.0)


def overlap_rbar(sums: Float64Array, n: int, length: int) -> float:
    """r̄_eff = (1 / (N(N − 1))) Σ_{i≠j} ρ_ij · o_ij, o_ij = max(0, L2 − d_ij) / L2 the share of
    the window's sessions two events have in common (1 on one date, 0 when they never meet);
    ``sums`` from :func:`overlap_sums`."""
    if n < 2 or length < 1:
        return float("nan")
    d = np.arange(len(sums))
    share = np.clip(length - d, 0, None) / length
    return float(2.0 * np.dot(sums, share) / (n * (n - 1)))


def kolari_pynnonen(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Kolari & Pynnönen (2010) adjusted BMP: t_BMP · √((1 − r̄)/(1 + (N − 1) r̄)) ~ t(N − 1),
    r̄ the mean pairwise correlation of estimation-window residuals on common days; for events
    on different dates the overlap-weighted r̄_eff (:func:`overlap_rbar`)."""
    if s.n < 2:
        return InvalidTestStatistic("kolari-pynnonen", "fewer than 2 firms", s.n)
    rbar = s.rbar
    factor = (1 - rbar) / (1 + (s.n - 1) * rbar)
    if not np.isfinite(factor) or factor <= 0:
        why = "no pair of firms shares 3 estimation days" if np.isnan(rbar) else f"r̄ = {rbar:.3f} is out of range"
        return InvalidTestStatistic("kolari-pynnonen", why, s.n)
    name = "r̄_eff" if s.overlapping else "r̄"
    how = f" ({s.rbar_method})" if s.rbar_method else ""
    stat = _bmp(s) * np.sqrt(factor)
    return replace(_t_result("kolari-pynnonen", stat, s.n - 1, s.n), detail=f"{name} = {rbar:.4f}{how}")


def portfolio(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Portfolio test (Brown & Warner 1980, 1985, crude dependence adjustment):
    AR_pt = mean AR of the group on each day; σ̂_p = s(AR_pt over E), ddof 1;
    t = Σ_W AR_pt / (σ̂_p √L2) ~ t(L_p − 1), L_p the estimation days with an AR_pt."""
    sigma_p, l_p = portfolio_sigma(s.ar_p, s.est_days)
    if l_p < 3:
        return InvalidTestStatistic("portfolio", "fewer than 3 estimation days", s.n)
    l2 = int(s.window.sum())
    stat = s.ar_p[s.window].sum() / (sigma_p * np.sqrt(l2))
    return _t_result("portfolio", stat, l_p - 1, s.n)


def portfolio_sigma(ar_p: Float64Array, est_days: BoolArray) -> tuple[float, int]:
    """σ̂_p, the standard deviation (ddof 1) of the group's mean AR over the estimation days
    that have one, and their number L_p; σ̂_p is NaN when L_p < 3."""
    est = ar_p[est_days & np.isfinite(ar_p)]
    return (float(est.std(ddof=1)) if len(est) >= 3 else float("nan")), len(est)


def corrado_rank(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Corrado (1989) rank test, cumulated as in Campbell & Wasley (1993).

    Each firm's ARs over E ∪ P are ranked once (ties: average rank); U_it = rank/(1 + M_i);
    Ū_t the mean over firms with an AR on day t; S² = mean over days of (Ū_t − ½)²;
    T = √L2 · (mean_W Ū_t − ½) / S ~ N(0, 1)."""
    if s.n < 1:
        return InvalidTestStatistic("corrado-rank", "no firms", s.n)
    ubar = s.ubar
    days = np.isfinite(ubar)
    big_s = np.sqrt(np.mean((ubar[days] - 0.5) ** 2))
    l2 = int(s.window.sum())
    stat = np.sqrt(l2) * (ubar[s.window].mean() - 0.5) / big_s
    span = "" if s.days is None else f" (days {s.days[0]:+d}..{s.days[-1]:+d})"
    return replace(_z_result("corrado-rank", stat, s.n), detail=f"ranks over {int(days.sum())} days{span}")


def standardized_ranks(ar: Float64Array) -> Float64Array:
    """U_it = rank_it / (1 + M_i) over each row's finite values (NaN stays NaN)."""
    valid = np.isfinite(ar)
    complete = valid.all()
    u = row_ranks(ar if complete else np.where(valid, ar, np.nan))
    u /= 1 + valid.sum(axis=1, keepdims=True)
    if not complete:
        u[~valid] = np.nan
    return u


def row_ranks(a: Float64Array) -> Float64Array:
    """Average ranks (1 = smallest; ties share the mean of their ranks) within each row, as
    ``scipy.stats.rankdata(a, axis=1)``; NaNs rank after every number and never tie.

    One row-wise argsort; tied runs are found on the sorted values and, only when there are
    any, given the mean of their first and last position."""
    n, m = a.shape
    order = np.argsort(a, axis=1)
    ordered = np.take_along_axis(a, order, axis=1)
    tied = ordered[:, 1:] == ordered[:, :-1]
    ranks = np.broadcast_to(np.arange(1.0, m + 1), (n, m))
    if tied.any():
        starts_run = np.ones((n, m), bool)
        starts_run[:, 1:] = ~tied
        flat = starts_run.ravel()
        first = np.flatnonzero(flat)
        last = np.append(first[1:], n * m) - 1
        run = np.cumsum(flat) - 1
        ranks = (first[run] + last[run]).reshape(n, m) / 2.0 - (np.arange(n) * m)[:, None] + 1
    out = np.empty((n, m))
    np.put_along_axis(out, order, ranks, axis=1)
    return out


def generalized_sign(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Cowan (1992) generalized sign: p̂ = mean_i share of estimation days with AR > 0;
    w = firms with CAR > 0; Z = (w − N p̂) / √(N p̂ (1 − p̂)) ~ N(0, 1)."""
    p_hat = s.p_hat
    if not 0 < p_hat < 1:
        return InvalidTestStatistic("generalized-sign", "no firms, or p̂ is 0 or 1", s.n)
    w = s.n_positive
    return _z_result("generalized-sign", (w - s.n * p_hat) / np.sqrt(s.n * p_hat * (1 - p_hat)), s.n)


def calendar_time(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Calendar-time portfolio test (Jaffe 1974; Mandelker 1974; Fama 1998): for every calendar
    session s inside at least one event window, AR_p,s = mean AR of the events whose window
    holds s; t = mean_s AR_p,s / (s(AR_p,s) / √S) ~ t(S − 1), S the number of such sessions."""
    ar_p = s.calendar_means()
    if ar_p is None:
        return InvalidTestStatistic("calendar-time", "the events' calendar positions are not known", s.n)
    if len(ar_p) < 3:
        return InvalidTestStatistic(
            "calendar-time", f"{len(ar_p)} calendar session(s) in the windows; 3 are needed", s.n
        )
    stat = ar_p.mean() / (ar_p.std(ddof=1) / np.sqrt(len(ar_p)))
    return replace(_t_result("calendar-time", stat, len(ar_p) - 1, s.n), detail=f"{len(ar_p)} calendar sessions")


def grank(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """GRANK (Kolari & Pynnönen 2011): SCAR*_i = SCAR_i / s(SCAR); each firm's values GSAR_it
    (SAR_it = ε̂_it / σ̂_i on its estimation days, SCAR*_i on one cumulative event day) are
    ranked, U_it = rank / (T_i + 1) − ½; Ū_t the mean over the n_t firms with a value on day
    t; S²_Ū = (1/T) Σ_t (n_t / n) Ū_t² over the T estimation days and the event day (Ū_0
    included, as in the paper); Z = Ū_0 / S_Ū, t = Z √((T − 2)/(T − 1 − Z²)) ~ t(T − 2)."""
    if not s.has_sigma:
        return InvalidTestStatistic("grank", "σ̂ of the firm-events is not known", s.n)
    if s.n < 2:
        return InvalidTestStatistic("grank", "fewer than 2 firms", s.n)
    ubar, n_t = s.grank_means()
    days = n_t > 0
    ubar = ubar[days]
    big_t = int(days.sum())
    s_u = np.sqrt(np.sum(n_t[days] / s.n * ubar**2) / big_t)
    z = ubar[-1] / s_u
    if big_t < 3 or big_t - 1 - z**2 <= 0:
        return InvalidTestStatistic("grank", f"too few days ({big_t}) for the t form", s.n)
    stat = z * np.sqrt((big_t - 2) / (big_t - 1 - z**2))
    return replace(_t_result("grank", stat, big_t - 2, s.n), detail=f"Z = {z:.4f} over {big_t} days")


def _sar_ranks(ar: Float64Array, est: BoolArray, sigma: Float64Array) -> tuple[Float64Array, Float64Array]:
    """SAR_it = ε̂_it / σ̂_i on the estimation days (NaN elsewhere) and their average ranks within
    each firm: the window-independent part of GRANK."""
    cols = np.flatnonzero(est.any(axis=0))
    sar = np.where(est[:, cols], ar[:, cols] / sigma[:, None], np.nan)
    rank = row_ranks(sar)
    rank[~np.isfinite(sar)] = np.nan
    return sar, rank


@dataclass(frozen=True)
class TestSpec:
    """A test and what it is robust to, as the literature and our simulations say:

    - ``correlation``: it holds its size when the firms share one event date (cross-correlated
      residuals; Kolari & Pynnönen 2010, Brown & Warner 1985, Corrado 1989);
    - ``correlation_apart``: also when events on different dates partly overlap
      (``benchmarks/size_samples.py``: the event-time portfolio, rank and GRANK tests then
      over-reject, as their estimation-window variance mixes calendar days that the event
      windows do not);
    - ``variance``: it holds its size when the event raises the variance of the returns
      (event-induced variance: Boehmer, Musumeci & Poulsen 1991; Corrado & Zivney 1992 and
      Cowan & Sergeant 1996 for the rank test's failure; Kolari & Pynnönen 2010, 2011;
      ``benchmarks/size_variance.py``): the tests that scale by the cross-sectional dispersion
      of the event-window values, or by their signs, do; those that take the variance from the
      estimation window alone (Patell, the portfolio and the Corrado rank test) do not.

    A test that holds its size under both leads the report (``robust``)."""

    name: str
    func: Callable[[Summary], TestStatistic | InvalidTestStatistic]
    correlation: bool
    label: str
    correlation_apart: bool = False
    variance: bool = False

    def robustness(self, apart: bool) -> tuple[bool, bool, bool]:
        """(robust to both, to cross-correlation, to event-induced variance) for a sample of one
        date (``apart`` False) or of events on different dates."""
        correlation = self.correlation_apart if apart else self.correlation
        return correlation and self.variance, correlation, self.variance


TESTS: dict[str, TestSpec] = {
    t.name: t
    for t in (
        TestSpec("kolari-pynnonen", kolari_pynnonen, True, "Kolari–Pynnönen adj. BMP", True, True),
        TestSpec("grank", grank, True, "GRANK (Kolari–Pynnönen 2011)", False, True),
        TestSpec("calendar-time", calendar_time, True, "calendar-time portfolio", True, True),
        TestSpec("portfolio", portfolio, True, "portfolio (crude dependence)"),
        TestSpec("corrado-rank", corrado_rank, True, "Corrado rank (cumulated)"),
        TestSpec("csect-t", csect_t, False, "cross-sectional t", False, True),
        TestSpec("patell", patell, False, "Patell Z"),
        TestSpec("bmp", bmp, False, "Boehmer–Musumeci–Poulsen", False, True),
        TestSpec("generalized-sign", generalized_sign, False, "Cowan generalized sign", False, True),
    )
}
# the tests of a sample whose events share one date (the calendar-time portfolio is for events
# on different dates: on one date its sessions are the window's own few)
ONE_DATE_TESTS = [n for n in TESTS if n != "calendar-time"]
TEST_COLUMNS = [
    "group",
    "window",
    "test",
    "stat",
    "p",
    "dist",
    "n_firms",
    "robust",
    "robust_correlation",
    "robust_variance",
    "caar",
    "scar_var",
    "rbar",
    "detail",
]


def test_row(group: str, window: str, spec: TestSpec, s: Summary, apart: bool) -> tuple:
    """One row of the tests table (:data:`TEST_COLUMNS`) for ``spec`` on ``s``: the statistic, its
    robustness in this design, the CAAR and the cross-sectional variance of the SCARs (about 1
    when the event leaves the variance as it was)."""
    r: TestStatistic | InvalidTestStatistic = spec.func(s)
    caar = s.car_mean if s.n else np.nan
    scar_var = s.scar_sd**2 if s.n > 1 else np.nan
    rbar = float(s.rbar) if s.n > 1 else np.nan
    robust = spec.robustness(apart)
    return (group, window, spec.name, r.stat, r.pvalue, r.dist, r.n, *robust, caar, scar_var, rbar, r.detail)


def get_tests(names: list[str] | None = None) -> list[TestSpec]:
    if names is None:
        return list(TESTS.values())
    unknown = sorted(set(names) - set(TESTS))
    if unknown:
        raise ValueError(f"unknown test(s) {unknown}; choose from {sorted(TESTS)}")
    return [TESTS[n] for n in names]
