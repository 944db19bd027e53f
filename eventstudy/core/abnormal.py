"""Abnormal returns, CARs and their prediction-error variances, for all firm-events at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._typing import BoolArray, Float64Array
from .inference.statistic import t_two_sided
from .models import ModelFit, outer
from .windows import Aligned, Window


@dataclass(frozen=True)
class AbnormalReturns:
    """AR on every relative day (N × G; in the estimation window these are the residuals),
    the prediction-error variance of each AR (``var_ar``), and per event window (N × W)
    the CAR, Var(CAR) = 1′V1, its t-statistic and p-value, and missing days."""

    ar: Float64Array
    var_ar: Float64Array
    windows: tuple[Window, ...]
    car: Float64Array
    var_car: Float64Array
    n_missing: np.ndarray
    dof: np.ndarray
    est_mask: BoolArray
    sigma: Float64Array | None = None  # σ̂_i, the residual standard deviation of each firm-event

    @property
    def se_car(self) -> Float64Array:
        return np.sqrt(self.var_car)

    @property
    def t(self) -> Float64Array:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.car / self.se_car

    @property
    def p(self) -> Float64Array:
        return t_two_sided(self.t, self.dof[:, None])  # t(L − K)

    @property
    def scar(self) -> Float64Array:
        """SCAR_i = CAR_i / √(1′V_i1) (Campbell, Lo & MacKinlay's form)."""
        return self.t


def compute(fit: ModelFit, aligned: Aligned, windows: tuple[Window, ...]) -> AbnormalReturns:
    """AR_iτ = y_iτ − X_iτ θ̂_i (from the fit) and, per window W of length L2,

    .. math:: \\mathrm{Var}(CAR_i) = 1'V_i1 = \\hat\\sigma_i^2 (L_2 + s_i'(X_i'X_i)^{-1}s_i),
              \\quad s_i = \\textstyle\\sum_{\\tau\\in W} x_{i\\tau}

    the prediction-error covariance V_i = σ̂²_i (I + X*_i (X_i′X_i)⁻¹ X*_i′) summed over all its
    entries (Campbell, Lo & MacKinlay 1997, eqs. 4.4.9–4.4.14), off-diagonal terms included.
    Its diagonal, σ̂²_i (1 + x′(X′X)⁻¹x), standardises each AR (SAR). A window with a missing
    return has CAR NaN and counts it in ``n_missing``.
    """
    ar = fit.ar
    quad = np.empty(ar.shape)
    n = len(ar)
    vars_ = np.empty((n, len(windows)))
    inside = [aligned.in_window(w) for w in windows]
    for c, rows in aligned.clusters():
        x, a = fit.x[c], fit.xtx_inv[rows]
        quad[rows] = a.reshape(a.shape[0], -1) @ outer(x).T
        for j, w in enumerate(windows):
            s = x[inside[j]].sum(axis=0)
            vars_[rows, j] = fit.sigma2[rows] * (w.length + np.einsum("k,nkl,l->n", s, a, s))
    var_ar = fit.sigma2[:, None] * (1.0 + quad)
    cars, missing = window_sums(ar, inside)
    return AbnormalReturns(ar, var_ar, tuple(windows), cars, vars_, missing, fit.dof, fit.est_mask, np.sqrt(fit.sigma2))


def window_sums(ar: Float64Array, inside: list[BoolArray]) -> tuple[Float64Array, np.ndarray]:
    """Per firm-event (rows) and window (``inside``: each window's days on the grid), the CAR
    (NaN when a day's AR is missing) and how many of its days have no AR."""
    n = len(ar)
    cars = np.column_stack([ar[:, m].sum(axis=1) for m in inside]) if inside else np.empty((n, 0))
    missing = np.column_stack([(~np.isfinite(ar[:, m])).sum(axis=1) for m in inside]) if inside else np.empty((n, 0))
    return cars, missing
