"""The rank and sign tests: Corrado's rank test, the generalized sign test and GRANK, with the
ranks they share (average ranks within each firm, standardized by the number of valid days)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..._typing import BoolArray, Float64Array
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
