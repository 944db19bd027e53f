"""The parametric tests of a group's CAAR: the cross-sectional t, Patell's Z,
Boehmer–Musumeci–Poulsen and its Kolari–Pynnönen adjustment for cross-correlation, the portfolio
test and the calendar-time portfolio test."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..._typing import BoolArray, Float64Array
from .statistic import InvalidTestStatistic, Summary, TestStatistic, sum_cubed, t_result, z_result


def csect_t(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Cross-sectional t: CAAR / (s(CAR)/√N), s with ddof 1, ~ t(N − 1). Brown & Warner (1985)."""
    if s.n < 2:
        return InvalidTestStatistic("csect-t", "fewer than 2 firms", s.n)
    return t_result("csect-t", s.car_mean / (s.car_sd / np.sqrt(s.n)), s.n - 1, s.n)


def patell(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Patell (1976) Z = Σ SCAR_i / √Σ (L_i − K)/(L_i − K − 2) ~ N(0, 1)."""
    if s.n < 1 or s.min_dof <= 2:
        return InvalidTestStatistic("patell", "a firm has 2 or fewer residual degrees of freedom", s.n)
    return z_result("patell", s.scar_sum / np.sqrt(s.patell_variance), s.n)


def patell_kp(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Patell's Z with Kolari & Pynnönen's (2010) correction for cross-correlation (eventstudy2's
    PatellADJ): Z_Patell · √((1 − r̄)/(1 + (N − 1) r̄)) ~ N(0, 1), r̄ as for Kolari–Pynnönen."""
    z = patell(s)
    if isinstance(z, InvalidTestStatistic):
        return replace(z, name="patell-kp")
    factor, why = _kp_factor(s)
    if why:
        return InvalidTestStatistic("patell-kp", why, s.n)
    return replace(z_result("patell-kp", z.stat * np.sqrt(factor), s.n), detail=_rbar_text(s))


def skewness_t(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Hall's (1992) skewness-corrected t on the CARs (Eventus' skewness-adjusted transformed
    normal test): S = CAAR/s, γ̂ = Σ(CAR − CAAR)³/(N s³) (s with ddof 1, as Lyon, Barber & Tsai
    1999), t_H = √N (S + γ̂S²/3 + γ̂²S³/27 + γ̂/(6N)) ~ N(0, 1)."""
    x = s.cars()
    if x is None:
        return InvalidTestStatistic("skewness-t", "the CARs are not gathered", s.n)
    if len(x) < 3:
        return InvalidTestStatistic("skewness-t", "fewer than 3 firms", len(x))
    if not x.std(ddof=1) > 0:
        return InvalidTestStatistic("skewness-t", "the CARs do not vary", len(x))
    stat, gamma = hall_t(x)
    return replace(z_result("skewness-t", stat, len(x)), detail=f"γ̂ = {gamma:.4f}")


def hall_t(x: Float64Array) -> tuple[float, float]:
    """Hall's (1992) skewness-corrected t of the mean of ``x`` against 0, and γ̂ (see
    :func:`skewness_t`)."""
    n, sd, mean = len(x), x.std(ddof=1), x.mean()
    big_s, gamma = mean / sd, sum_cubed(x - mean) / (n * sd**3)
    return float(np.sqrt(n) * (big_s + gamma * big_s**2 / 3 + gamma**2 * big_s**3 / 27 + gamma / (6 * n))), float(gamma)


def _bmp(s: Summary) -> float:
    return s.scar_mean / (s.scar_sd / np.sqrt(s.n))


def bmp(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Boehmer, Musumeci & Poulsen (1991): mean(SCAR) / (s(SCAR)/√N) ~ t(N − 1)."""
    if s.n < 2:
        return InvalidTestStatistic("bmp", "fewer than 2 firms", s.n)
    return t_result("bmp", _bmp(s), s.n - 1, s.n)


def kolari_pynnonen(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Kolari & Pynnönen (2010) adjusted BMP: t_BMP · √((1 − r̄)/(1 + (N − 1) r̄)) ~ t(N − 1),
    r̄ the mean pairwise correlation of estimation-window residuals on common days; for events
    on different dates the overlap-weighted r̄_eff (:func:`overlap_rbar`)."""
    if s.n < 2:
        return InvalidTestStatistic("kolari-pynnonen", "fewer than 2 firms", s.n)
    factor, why = _kp_factor(s)
    if why:
        return InvalidTestStatistic("kolari-pynnonen", why, s.n)
    stat = _bmp(s) * np.sqrt(factor)
    return replace(t_result("kolari-pynnonen", stat, s.n - 1, s.n), detail=_rbar_text(s))


def _kp_factor(s: Summary) -> tuple[float, str]:
    """(1 − r̄)/(1 + (N − 1) r̄), or why it cannot be had."""
    rbar = s.rbar
    if s.n < 2:
        return np.nan, "fewer than 2 firms"
    factor = (1 - rbar) / (1 + (s.n - 1) * rbar)
    if not np.isfinite(factor) or factor <= 0:
        return np.nan, "no pair of firms shares 3 estimation days" if np.isnan(
            rbar
        ) else f"r̄ = {rbar:.3f} is out of range"
    return factor, ""


def _rbar_text(s: Summary) -> str:
    name = "r̄_eff" if s.overlapping else "r̄"
    how = f" ({s.rbar_method})" if s.rbar_method else ""
    return f"{name} = {s.rbar:.4f}{how}"


def portfolio(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Portfolio test (Brown & Warner 1980, 1985, crude dependence adjustment):
    AR_pt = mean AR of the group on each day; σ̂_p = s(AR_pt over E), ddof 1;
    t = Σ_W AR_pt / (σ̂_p √L2) ~ t(L_p − 1), L_p the estimation days with an AR_pt."""
    sigma_p, l_p = portfolio_sigma(s.ar_p, s.est_days)
    if l_p < 3:
        return InvalidTestStatistic("portfolio", "fewer than 3 estimation days", s.n)
    l2 = int(s.window.sum())
    stat = s.ar_p[s.window].sum() / (sigma_p * np.sqrt(l2))
    return t_result("portfolio", stat, l_p - 1, s.n)


def portfolio_sigma(ar_p: Float64Array, est_days: BoolArray) -> tuple[float, int]:
    """σ̂_p, the standard deviation (ddof 1) of the group's mean AR over the estimation days
    that have one, and their number L_p; σ̂_p is NaN when L_p < 3."""
    est = ar_p[est_days & np.isfinite(ar_p)]
    return (float(est.std(ddof=1)) if len(est) >= 3 else float("nan")), len(est)


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
    return replace(t_result("calendar-time", stat, len(ar_p) - 1, s.n), detail=f"{len(ar_p)} calendar sessions")
