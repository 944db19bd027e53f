"""The trade-to-trade market model (Maynes & Rumsey 1993; eventstudy2's default for thin trading;
METHODS.md §4a).

The returns given are those of the sessions the firm traded, each over the sessions since its last
trade (NaN on a session without a trade; :func:`spans` counts them: n_t = 1 + the idle sessions
just before t). In log returns r = ln(1 + R), with the daily market model holding every session,
r_t^(n) = n_t α + β r_m,t^(n) + u_t, Var(u) = n_t σ², r_m^(n) the sum of the n market log returns.
GLS is OLS on the rows divided by √n_t over the traded estimation sessions; σ̂² = SSR/(L̃ − 2).
AR_τ = r_τ^(n) − n_τ α̂ − β̂ r_m,τ^(n) on the traded sessions of a window (log units),
Var(CAR) = σ̂² (Σ n_τ + s′(X̃′X̃)⁻¹s), s = Σ (n_τ, r_m,τ^(n)) over them. A CAR whose first return
spans sessions before the window, or with no trade on its last session, is left out with that
reason. With a trade every session this is the market model in log returns. Per firm-event, so it
runs on the in-memory engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._typing import BoolArray, Float64Array, IntArray
from . import exclusions
from .abnormal import AbnormalReturns
from .models import Model, ModelFit, _batched_inverse
from .windows import Aligned, Window


def spans(traded: BoolArray) -> Float64Array:
    """n for each cell of ``traded`` (N × G booleans): 1 + the untraded cells just before it in
    its row (the first column counts 1: what came before the grid is not known)."""
    n = np.ones(traded.shape)
    run = np.zeros(traded.shape[0])
    for j in range(traded.shape[1]):
        n[:, j] = run + 1
        run = np.where(traded[:, j], 0, run + 1)
    return n


def fit(aligned: Aligned, model: Model, windows: tuple[Window, ...], need: int):
    """(kept ``Aligned``, :class:`ModelFit` with α̂ per session and β̂, :class:`AbnormalReturns`,
    the excluded firm-events and windows with why)."""
    mkt = aligned.factors[:, :, list(aligned.factor_names).index("mkt")][aligned.cluster]
    with np.errstate(invalid="ignore"):
        r, rm = np.log1p(aligned.y), np.log1p(mkt)
    traded = np.isfinite(r)
    n = spans(traded)
    rm_n, lo = _summed(rm, n)
    est = aligned.in_estimation[None, :] & traded & np.isfinite(rm_n)
    rows, g = r.shape
    params, sigma2, xtx_inv = np.full((rows, 2), np.nan), np.full(rows, np.nan), np.full((rows, 2, 2), np.nan)
    for i in range(rows):
        e = est[i]
        if e.sum() < max(need, 5):
            continue
        w = np.sqrt(n[i, e])
        x = np.column_stack([n[i, e] / w, rm_n[i, e] / w])
        y = r[i, e] / w
        inv = _batched_inverse((x.T @ x)[None])[0]  # NaN when singular: the firm-event is excluded
        theta = inv @ x.T @ y
        params[i], xtx_inv[i] = theta, inv
        sigma2[i] = np.sum((y - x @ theta) ** 2) / (e.sum() - 2)
    n_obs = est.sum(axis=1)
    ok = np.isfinite(params).all(axis=1) & np.isfinite(sigma2) & (sigma2 > 0)
    why = [
        (
            aligned.event_ids[i],
            aligned.tickers[i],
            "estimation",
            f"{n_obs[i]} traded estimation sessions; {max(need, 5)} are needed",
        )
        for i in np.flatnonzero(~ok)
    ]
    ar = r - n * params[:, :1] - params[:, 1:] * rm_n
    quad = np.einsum("ngk,nkl,ngl->ng", np.stack([n, rm_n], axis=2), xtx_inv, np.stack([n, rm_n], axis=2))
    var_ar = sigma2[:, None] * (n + quad)
    cars, var_car, missing = [], [], []
    for w in windows:
        inside = aligned.in_window(w)
        t_in = traded & inside[None, :] & np.isfinite(ar)
        s = np.stack([np.where(t_in, n, 0).sum(axis=1), np.where(t_in, rm_n, 0).sum(axis=1)], axis=1)
        first = np.argmax(t_in, axis=1)
        leaks = lo[np.arange(rows), first] < np.argmax(inside)  # the first return spans sessions before τ1
        last_day = np.flatnonzero(inside)[-1] if inside.any() else 0
        no_trade_end = ~traded[:, last_day]
        car = np.where(t_in, ar, 0).sum(axis=1)
        v = sigma2 * (s[:, 0] + np.einsum("nk,nkl,nl->n", s, xtx_inv, s))
        bad = leaks | no_trade_end | ~t_in.any(axis=1)
        cars.append(np.where(bad, np.nan, car))
        var_car.append(np.where(bad, np.nan, v))
        missing.append(bad.astype(int))
    k = ok
    result = ModelFit(
        model, params[k], sigma2[k], xtx_inv[k], n_obs[k], aligned.factors, ar[k], est[k], aligned.cluster[k]
    )
    ab = AbnormalReturns(
        ar[k], var_ar[k], tuple(windows), np.column_stack(cars)[k], np.column_stack(var_car)[k],
        np.column_stack(missing)[k], n_obs[k] - model.k, est[k], np.sqrt(sigma2[k]),
    )  # fmt: skip
    sub = aligned if k.all() else aligned.subset(k)
    return sub, result, ab, pd.DataFrame(why, columns=exclusions.COLUMNS)


def _summed(rm: Float64Array, n: Float64Array) -> tuple[Float64Array, IntArray]:
    """The market's log returns summed over each cell's span (NaN when one is missing or the span
    starts before the grid), and where each span starts."""
    rows, cols = np.arange(len(rm))[:, None], np.arange(rm.shape[1])[None, :]
    ok = np.isfinite(rm)
    total = np.concatenate([np.zeros((len(rm), 1)), np.cumsum(np.where(ok, rm, 0.0), axis=1)], axis=1)
    gaps = np.concatenate([np.zeros((len(rm), 1)), np.cumsum(~ok, axis=1)], axis=1)
    lo = (cols - n + 1).astype(int)
    at = np.maximum(lo, 0)
    out = total[rows, cols + 1] - total[rows, at]
    out[(gaps[rows, cols + 1] - gaps[rows, at] > 0) | (lo < 0)] = np.nan
    return out, lo


def parameter_frame(fit: ModelFit) -> pd.DataFrame:
    """α̂ (per session, log units) and β̂ of each firm-event."""
    return pd.DataFrame(fit.params, columns=["alpha", "beta"])
