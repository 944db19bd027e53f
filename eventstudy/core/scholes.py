"""The Scholes & Williams (1977) market model for thinly traded firms (METHODS.md §4b).

On the L − 2 estimation sessions whose neighbours are in the window too (where the firm's return
and the market's of the sessions before, of and after exist), b⁻, b⁰ and b⁺ are the slopes of
three simple regressions of R_it on R_m,t−1, R_mt and R_m,t+1; ρ_m = corr(R_mt, R_m,t−1) on the
same sessions; β_SW = (b⁻ + b⁰ + b⁺)/(1 + 2ρ_m), α_SW = mean(R_i) − β_SW mean(R_m);
AR_iτ = R_iτ − α_SW − β_SW R_mτ. β_SW is no OLS coefficient, so there is no prediction-error
term: σ² = Σ(R − α_SW − β_SW R_m)²/(L̃ − 2) over those L̃ sessions and V_i = σ² I (ours, as
METHODS.md states it). Per firm-event and two-pass, so it runs on the in-memory engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import exclusions
from .abnormal import AbnormalReturns, window_sums
from .models import Model, ModelFit
from .windows import Aligned, Window


def _slope(y: np.ndarray, x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Row-wise simple OLS slope of y on x over ``ok``."""
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = np.where(ok, x, 0).sum(axis=1) / n
        ym = np.where(ok, y, 0).sum(axis=1) / n
        dx, dy = np.where(ok, x - xm[:, None], 0), np.where(ok, y - ym[:, None], 0)
        return (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)


def fit(aligned: Aligned, model: Model, windows: tuple[Window, ...], need: int):
    """(the kept firm-events' ``Aligned``, their :class:`ModelFit` with α̂_SW, β̂_SW, their
    :class:`AbnormalReturns`, the excluded firm-events with why)."""
    mkt = aligned.factors[:, :, list(aligned.factor_names).index("mkt")][aligned.cluster]
    y = aligned.y
    lag = np.full_like(mkt, np.nan)
    lead = np.full_like(mkt, np.nan)
    lag[:, 1:], lead[:, :-1] = mkt[:, :-1], mkt[:, 1:]
    inside = aligned.in_estimation
    both = inside & np.r_[False, inside[:-1]] & np.r_[inside[1:], False]  # both neighbours in the window: L − 2
    ok = both[None, :] & np.isfinite(y) & np.isfinite(mkt) & np.isfinite(lag) & np.isfinite(lead)
    n_obs = ok.sum(axis=1)
    betas = [_slope(y, m, ok) for m in (lag, mkt, lead)]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = _slope(mkt, lag, ok) * np.sqrt(_var(lag, ok) / _var(mkt, ok))  # corr = slope · sd(x)/sd(y)
        beta = (betas[0] + betas[1] + betas[2]) / (1 + 2 * rho)
        n = np.maximum(n_obs, 1)
        alpha = np.where(ok, y, 0).sum(axis=1) / n - beta * np.where(ok, mkt, 0).sum(axis=1) / n
    ar = y - alpha[:, None] - beta[:, None] * mkt
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = (np.where(ok, ar, 0.0) ** 2).sum(axis=1) / (n_obs - 2)
    need = max(need, 5)
    kept = (n_obs >= need) & np.isfinite(beta) & np.isfinite(sigma2) & (sigma2 > 0)
    why = [
        (aligned.event_ids[i], aligned.tickers[i], "estimation", _why(n_obs[i], need)) for i in np.flatnonzero(~kept)
    ]
    k = kept
    var = np.repeat(sigma2[k, None], ar.shape[1], axis=1)  # V = σ̂² I
    inside = [aligned.in_window(w) for w in windows]
    cars, missing = window_sums(ar[k], inside)
    var_car = np.column_stack([sigma2[k] * m.sum() for m in inside])  # V = σ̂² I: σ̂² times the window's days
    dof = n_obs[k] - model.k
    params = np.column_stack([alpha, beta, *betas, rho])[k]
    result = ModelFit(
        model, params, sigma2[k], np.zeros((k.sum(), 2, 2)), n_obs[k], aligned.factors, ar[k], ok[k], aligned.cluster[k]
    )
    ab = AbnormalReturns(ar[k], var, tuple(windows), cars, var_car, missing, dof, ok[k], np.sqrt(sigma2[k]))
    sub = aligned if kept.all() else aligned.subset(kept)
    return sub, result, ab, pd.DataFrame(why, columns=exclusions.COLUMNS)


def _var(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    n = ok.sum(axis=1)
    m = np.where(ok, x, 0).sum(axis=1) / n
    return np.where(ok, (x - m[:, None]) ** 2, 0).sum(axis=1) / n


def _why(n_obs: int, need: int) -> str:
    if n_obs < need:
        return f"{n_obs} estimation sessions with the market's lag and lead; {need} are needed (Scholes–Williams)"
    return "the Scholes–Williams beta cannot be computed (the market did not vary)"


def parameter_frame(fit: ModelFit) -> pd.DataFrame:
    """α̂_SW, β̂_SW, the three simple slopes and the market's autocorrelation."""
    return pd.DataFrame(fit.params, columns=["alpha", "beta", "beta_lag", "beta_0", "beta_lead", "rho_m"])
