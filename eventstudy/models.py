"""Return models and the batched OLS that fits every firm-event at once.

Each model names the regressor columns it needs from the factor frame, whether the firm's
return is taken in excess of the risk-free rate, and whether anything is estimated.
:func:`fit` solves the N normal equations together (one ``einsum`` and one batched inverse):
firms with different missing days are handled by masking, never by filling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._typing import BoolArray, Float64Array
from .windows import Aligned


@dataclass(frozen=True)
class Model:
    """A return model: ``R − [rf] = X θ + ε`` with X = [1, columns...]."""

    name: str
    columns: tuple[str, ...]
    excess: bool = False
    estimated: bool = True
    description: str = ""

    @property
    def k(self) -> int:
        """Parameters counted for degrees of freedom (1 for market-adjusted: its mean)."""
        return 1 + len(self.columns) if self.estimated else 1

    @property
    def needs(self) -> tuple[str, ...]:
        return (*self.columns, "rf") if self.excess else self.columns


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("market", ("mkt",), description="market model: R = α + β R_m + ε"),
        Model(
            "market-adjusted", ("mkt",), estimated=False, description="market-adjusted: AR = R − R_m, nothing estimated"
        ),
        Model("constant-mean", (), description="constant mean: R = μ + ε"),
        Model("ff3", ("mkt_rf", "smb", "hml"), excess=True, description="Fama–French 3-factor on excess returns"),
        Model(
            "carhart", ("mkt_rf", "smb", "hml", "mom"), excess=True, description="Carhart 4-factor on excess returns"
        ),
        Model(
            "ff5",
            ("mkt_rf", "smb", "hml", "rmw", "cma"),
            excess=True,
            description="Fama–French 5-factor on excess returns",
        ),
    )
}


def get_model(name: str) -> Model:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None


@dataclass(frozen=True)
class ModelFit:
    """Per firm-event: θ (N × K), σ² (N,), (X′X)⁻¹ (N × K × K), valid estimation days L (N,),
    the regressor tensor X (N × G × K), the dependent variable y (N × G), the estimation
    mask used, and which firm-events could not be fitted (``failed``, with reasons)."""

    model: Model
    params: Float64Array
    sigma2: Float64Array
    xtx_inv: Float64Array
    n_obs: np.ndarray
    x: Float64Array
    y: Float64Array
    est_mask: BoolArray

    @property
    def dof(self) -> np.ndarray:
        return self.n_obs - self.model.k


def design(aligned: Aligned, model: Model) -> tuple[Float64Array, Float64Array]:
    """The dependent variable y (N × G) and the regressors X (N × G × K) of ``model``."""
    names = list(aligned.factor_names)
    pick = [names.index(c) for c in model.columns]
    y = aligned.y
    if model.excess:
        y = y - aligned.factors[:, :, names.index("rf")]
    if not model.estimated:
        y = y - aligned.factors[:, :, names.index("mkt")]
        pick = []
    ones = np.ones((*y.shape, 1))
    return y, np.concatenate([ones, aligned.factors[:, :, pick]], axis=2)


def estimation_mask(aligned: Aligned, y: Float64Array, x: Float64Array) -> BoolArray:
    """Estimation days where the firm's return and every regressor exist."""
    return aligned.in_estimation[None, :] & np.isfinite(y) & np.isfinite(x).all(axis=2)


def fit(aligned: Aligned, *, model: Model) -> ModelFit:
    """OLS of y on X over each firm's valid estimation days, all firm-events at once.

    Notes
    -----
    θ̂_i = (X_i′X_i)⁻¹ X_i′y_i and σ̂²_i = Σ_E ε̂²_it / (L_i − K) (Campbell, Lo & MacKinlay 1997,
    eqs. 4.4.5–4.4.6). For the market-adjusted model nothing is estimated: θ = 0, and σ̂² is the
    variance of R − R_m over E with L − 1 degrees of freedom. A firm-event whose X′X is
    singular gets NaN parameters (the caller excludes it).
    """
    y, x = design(aligned, model)
    mask = estimation_mask(aligned, y, x)
    n_obs = mask.sum(axis=1)
    xm = np.where(mask[:, :, None], x, 0.0)
    ym = np.where(mask, y, 0.0)
    xtx = np.matmul(xm.transpose(0, 2, 1), xm)
    xtx_inv = _batched_inverse(xtx)
    if model.estimated:
        xty = np.matmul(xm.transpose(0, 2, 1), ym[:, :, None])
        params = np.matmul(xtx_inv, xty)[:, :, 0]
        resid = ym - np.matmul(xm, params[:, :, None])[:, :, 0]
    else:
        params = np.zeros((len(y), 1))
        mean = ym.sum(axis=1) / np.maximum(n_obs, 1)
        resid = np.where(mask, ym - mean[:, None], 0.0)
        xtx_inv = np.zeros_like(xtx_inv)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = (resid**2).sum(axis=1) / (n_obs - model.k)
    return ModelFit(model, params, sigma2, xtx_inv, n_obs, x, y, mask)


def _batched_inverse(xtx: Float64Array) -> Float64Array:
    """Inverse of each K × K matrix; NaN where one is (numerically) singular.

    Singularity is judged on the correlation form D^{-1/2} X′X D^{-1/2} (D its diagonal): its
    determinant lies in [0, 1] whatever the scale of the regressors, and one below 1e-12 means
    a regressor is (nearly) a combination of the others — e.g. a benchmark that never moved."""
    out = np.full_like(xtx, np.nan)
    diag = np.einsum("nkk->nk", xtx)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = 1.0 / np.sqrt(diag)
        det = np.linalg.det(xtx * scale[:, :, None] * scale[:, None, :]) if len(xtx) else np.array([])
    ok = np.isfinite(det) & (det > 1e-12)
    if ok.any():
        out[ok] = np.linalg.inv(xtx[ok])
    return out
