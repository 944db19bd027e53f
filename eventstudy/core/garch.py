"""The market model with GARCH(1,1) errors (METHODS.md §2c; EventStudyTools' "garch", eventstudy2's
``garch``), estimated per firm-event with the ``arch`` package on the estimation window:

R_it = α_i + β_i R_mt + ε_it, ε_it = √h_it z_it, h_it = ω_i + a_i ε²_i,t−1 + b_i h_i,t−1.

Both R and R_m are scaled by 100 for the optimizer (``arch`` stops at its starting values on
decimal returns; ``rescale`` would scale R alone and return β ×100). AR_iτ = R_iτ − α̂_i − β̂_i R_mτ;
each AR is standardized by the conditional variance forecast from the last estimation session T,
ĥ_T+1 = ω̂ + â ε̂²_T + b̂ h_T, ĥ_T+k = ω̂ Σ_{j<k−1} (â + b̂)^j + (â + b̂)^{k−1} ĥ_T+1 (k in sessions,
the gap between the windows included); Var(CAR) = Σ ĥ over the window — no parameter-uncertainty
term (none of the packages adds one). On the estimation days the variance is the fitted h_t.

A fit is kept only if the optimizer converged, ω̂ > 0, â, b̂ ≥ 0 and â + b̂ < 1; otherwise the
firm-event is excluded with the optimizer's message or the parameters. Per firm-event, so it runs
on the in-memory engine only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from . import exclusions
from .abnormal import AbnormalReturns, window_sums
from .models import Model, ModelFit
from .windows import Aligned, Window

SCALE = 100.0


def fit(aligned: Aligned, model: Model, windows: tuple[Window, ...], need: int):
    """(the kept firm-events' ``Aligned``, their :class:`ModelFit` with α̂, β̂ and the GARCH
    parameters, their :class:`AbnormalReturns`, the excluded firm-events with why)."""
    from arch import arch_model
    from arch.utility.exceptions import DataScaleWarning

    n, g = aligned.y.shape
    mkt = aligned.factors[:, :, list(aligned.factor_names).index("mkt")]
    y, x = aligned.y, mkt[aligned.cluster]
    est = aligned.in_estimation[None, :] & np.isfinite(y) & np.isfinite(x)
    params, var, why = np.full((n, 5), np.nan), np.full((n, g), np.nan), {}
    for i in range(n):
        days = np.flatnonzero(est[i])
        if len(days) < max(need, 10):
            why[i] = f"{len(days)} valid returns in the estimation window; {max(need, 10)} are needed"
            continue
        model_i = arch_model(
            SCALE * y[i, days], x=SCALE * x[i, days, None], mean="LS", vol="GARCH", p=1, q=1, dist="normal"
        )
        with warnings.catch_warnings():  # arch's scale and convergence warnings: the checks below decide
            warnings.simplefilter("ignore", DataScaleWarning)
            res = model_i.fit(disp="off", show_warning=False)
        problem = _rejected(res)
        if problem:
            why[i] = problem
            continue
        const, beta, omega, a, b = (float(v) for v in res.params.to_numpy())
        params[i] = (const / SCALE, beta, omega, a, b)
        h = np.asarray(res.conditional_volatility) ** 2
        var[i, days] = h / SCALE**2
        last = days[-1]
        resid_t = SCALE * (y[i, last] - const / SCALE - beta * x[i, last])
        h_next = omega + a * resid_t**2 + b * h[-1]
        k = aligned.grid - aligned.grid[last]
        after = k >= 1
        steps, persist = k[after] - 1, a + b  # a + b < 1 for every fit kept
        sums = (1 - persist**steps) / (1 - persist)
        var[i, after] = (omega * sums + persist**steps * h_next) / SCALE**2
    kept = np.array([i not in why for i in range(n)])
    ar = y - params[:, 0][:, None] - params[:, 1][:, None] * x
    n_obs = est.sum(axis=1)
    sub = aligned.subset(kept) if not kept.all() else aligned
    k_ = kept
    s = np.full(n, np.nan)
    s[k_] = np.sqrt(np.nanmean(np.where(est[k_], var[k_], np.nan), axis=1))  # the fitted h's mean over E
    inside = [aligned.in_window(w) for w in windows]
    cars, missing = window_sums(ar[k_], inside)
    var_car = window_sums(var[k_], inside)[0]  # Σ ĥ over the window
    dof = n_obs[k_] - model.k
    result_fit = ModelFit(
        model, params[k_], s[k_] ** 2, np.zeros((k_.sum(), 2, 2)), n_obs[k_], aligned.factors, ar[k_], est[k_],
        aligned.cluster[k_],
    )  # fmt: skip
    ab = AbnormalReturns(ar[k_], var[k_], tuple(windows), cars, var_car, missing, dof, est[k_], s[k_])
    excluded = pd.DataFrame(
        [(aligned.event_ids[i], aligned.tickers[i], "estimation", w) for i, w in why.items()],
        columns=exclusions.COLUMNS,
    )
    return sub, result_fit, ab, excluded


def _rejected(res) -> str:
    """Why a GARCH fit is not used ("" when it is)."""
    if res.convergence_flag != 0:
        return f"the GARCH fit did not converge ({res.optimization_result.message})"
    omega, a, b = (float(res.params[k]) for k in ("omega", "alpha[1]", "beta[1]"))
    if not (omega > 0 and a >= 0 and b >= 0 and a + b < 1):
        return f"the GARCH parameters are out of range (ω = {omega:.3g}, a = {a:.3g}, b = {b:.3g}; a + b must be < 1)"
    return ""


def parameter_frame(fit: ModelFit) -> pd.DataFrame:
    """α, β and the GARCH parameters of each firm-event (the variance in percent², as ``arch``)."""
    return pd.DataFrame(fit.params, columns=["alpha", "beta", "omega", "garch_a", "garch_b"])
