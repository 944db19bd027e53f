"""The rank and sign tests: Corrado's rank test, the generalized sign test and GRANK, with the
ranks they share (average ranks within each firm, standardized by the number of valid days)."""

from __future__ import annotations

import functools
import warnings
from dataclasses import replace

import numpy as np

from ..._typing import BoolArray, Float64Array, IntArray
from .statistic import InvalidTestStatistic, Summary, TestStatistic, t_result, z_result


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
    return replace(z_result("corrado-rank", stat, s.n), detail=f"ranks over {int(days.sum())} days{span}")


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
    return z_result("generalized-sign", (w - s.n * p_hat) / np.sqrt(s.n * p_hat * (1 - p_hat)), s.n)


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
    return replace(t_result("grank", stat, big_t - 2, s.n), detail=f"Z = {z:.4f} over {big_t} days")


def ranked_sars(ar: Float64Array, est: BoolArray, sigma: Float64Array) -> tuple[Float64Array, Float64Array]:
    """SAR_it = ε̂_it / σ̂_i on the estimation days (NaN elsewhere) and their average ranks within
    each firm: the window-independent part of GRANK."""
    cols = np.flatnonzero(est.any(axis=0))
    sar = np.where(est[:, cols], ar[:, cols] / sigma[:, None], np.nan)
    rank = row_ranks(sar)
    rank[~np.isfinite(sar)] = np.nan
    return sar, rank


EXACT_WILCOXON = 25  # the exact null distribution up to this many non-zero CARs without ties


def wilcoxon(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Wilcoxon (1945) signed-rank test on the CARs: zeros dropped, average ranks of |CAR| for
    ties, W⁺ the rank sum of the positive CARs; z = (W⁺ − n(n + 1)/4) / √(n(n + 1)(2n + 1)/24 −
    Σ(t³ − t)/48) ~ N(0, 1), the exact null distribution for n ≤ 25 without ties."""
    x = s.cars()
    if x is None:
        return InvalidTestStatistic("wilcoxon", "the CARs are not gathered", s.n)
    x = x[x != 0]
    n = len(x)
    if n < 2:
        return InvalidTestStatistic("wilcoxon", "fewer than 2 non-zero CARs", n)
    w_plus, ties = _signed_rank_sum(x)
    var = n * (n + 1) * (2 * n + 1) / 24 - np.sum(ties**3 - ties) / 48
    z = (w_plus - n * (n + 1) / 4) / np.sqrt(var)
    detail = f"W⁺ = {w_plus:g} of n = {n}"
    if n <= EXACT_WILCOXON and not len(ties):
        null = signed_rank_null(n)  # P(W⁺ = w), w = 0 .. n(n + 1)/2
        w = int(round(w_plus))
        p = min(1.0, 2 * min(null[: w + 1].sum(), null[w:].sum()))
        return TestStatistic("wilcoxon", float(z), float(p), "exact signed-rank", n, detail=detail + ", exact p")
    return replace(z_result("wilcoxon", z, n), detail=detail)


def _signed_rank_sum(x: Float64Array) -> tuple[float, IntArray]:
    """W⁺, the sum of the average ranks of |x| where x > 0, and the sizes of the runs of tied |x|
    (of two values or more), from one sort of keys that order as |x| does and carry x's sign: the
    bits of |x| (which order as the numbers do, being positive) moved up one, the sign bit in the
    lowest. The ranks are halves of whole numbers: their sum is exact in any order."""
    bits = np.asarray(x, dtype=np.float64).view(np.uint64)
    keys = np.sort((bits << np.uint64(1)) | (bits >> np.uint64(63)))
    size = keys >> np.uint64(1)
    tied = size[1:] == size[:-1]
    positive = (keys & np.uint64(1)) == 0
    if not tied.any():  # each value its own rank, its place + 1: no run's mean rank spread out
        at = np.flatnonzero(positive)
        return float(at.sum() + len(at)), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, ~tied])
    counts = np.diff(np.r_[starts, len(x)])
    # each run's mean rank times its positive values (the sorted keys' runs, each a |x|)
    return float(((starts + (counts + 1) / 2) * np.add.reduceat(positive, starts)).sum()), counts[counts > 1]


@functools.cache
def signed_rank_null(n: int) -> Float64Array:
    """The exact null distribution of the signed-rank sum W⁺ of n values without ties: the share
    of the 2ⁿ sign patterns giving each sum (counted by adding the ranks 1..n one at a time)."""
    ways = np.zeros(n * (n + 1) // 2 + 1)
    ways[0] = 1.0
    for r in range(1, n + 1):
        ways[r:] = ways[r:] + ways[:-r].copy()
    return ways / 2.0**n


def corrado_zivney(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Corrado & Zivney (1992) rank test with event-induced variance, as eventstudy2 computes it:
    SAR_it = AR_it / s_i (s_i the s.d. of the firm's estimation ARs, ddof 1); on each event-window
    day the SARs are divided by their cross-sectional s.d. (ddof 1); each firm's estimation and
    window values are ranked, U_it = rank/(M_i + 1); Ū_t the mean over the firms with a value;
    S² = mean over the estimation and window days of (Ū_t − ½)²; Z = √D (mean of U over the
    window's firm-days − ½) / S ~ N(0, 1), D the window's days (Cowan 1992's aggregation)."""
    kept = s.firm_ars()
    if kept is None:
        return InvalidTestStatistic("corrado-zivney", "the streamed engine keeps no firm's ARs (engine='memory')", s.n)
    ar, est = kept
    if s.n < 2:
        return InvalidTestStatistic("corrado-zivney", "fewer than 2 firms", s.n)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a firm or day with one value has no s.d.: NaN
        sd = np.nanstd(np.where(est, ar, np.nan), axis=1, ddof=1)
        sar = ar / sd[:, None]
        win = s.window
        cross = np.nanstd(sar[:, win], axis=0, ddof=1)
        values = np.full(ar.shape, np.nan)
        values[est] = sar[est]
        values[:, win] = sar[:, win] / cross[None, :]
    days = est.any(axis=0) | win
    u = standardized_ranks(values[:, days])
    inside = win[days]
    ubar = column_mean(u)
    ok = np.isfinite(ubar)
    big_s = np.sqrt(np.mean((ubar[ok] - 0.5) ** 2))
    window_u = u[:, inside]
    mean_u = np.nanmean(window_u) if np.isfinite(window_u).any() else np.nan
    stat = np.sqrt(int(inside.sum())) * (mean_u - 0.5) / big_s
    if not np.isfinite(stat):
        return InvalidTestStatistic("corrado-zivney", "no ranks in the window", s.n)
    return replace(z_result("corrado-zivney", stat, s.n), detail=f"ranks over {int(ok.sum())} days")


def column_mean(a: Float64Array) -> Float64Array:
    """Mean of each column over its finite entries (NaN where a column has none)."""
    valid = np.isfinite(a)
    count = valid.sum(axis=0)
    total = a.sum(axis=0) if (count == len(a)).all() else np.where(valid, a, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)
