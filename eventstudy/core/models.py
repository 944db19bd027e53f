"""Return models and the batched OLS that fits every firm-event at once.

Each model names the regressor columns it needs from the factor frame, whether the firm's
return is taken in excess of the risk-free rate, and whether anything is estimated.
:func:`fit` solves the N normal equations together (matrix products per event date and one
batched inverse): firms with different missing days are handled by masking, never by filling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._typing import BoolArray, Float64Array
from .windows import Aligned


@dataclass(frozen=True)
class Model:
    """A return model: ``R − [rf] = X θ + ε`` with X = [1, columns...]."""

    name: str
    columns: tuple[str, ...]
    excess: bool = False
    estimated: bool = True
    description: str = ""
    thin_trading: bool = False  # corrects the beta of thinly traded firms (the flags count their idle sessions)
    fitter: str = ""  # fitted firm by firm outside the batched OLS: "garch", "scholes-williams"

    @property
    def k(self) -> int:
        """Parameters counted for degrees of freedom (1 for market-adjusted: its mean)."""
        return 1 + len(self.columns) if self.estimated else 1

    @property
    def uses_benchmark(self) -> bool:
        """Whether the study's benchmark enters the model (the market and market-adjusted
        models); the factor models take the market from the Fama–French files, and the
        constant-mean model has none."""
        return "mkt" in self.columns

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
        Model(
            "dimson",
            ("mkt_lag1", "mkt", "mkt_lead1"),
            description="market model with Dimson (1979) lag and lead: R = α + β₋₁ R_m,t−1 + β₀ R_m,t + "
            "β₊₁ R_m,t+1 + ε (β_Dimson = β₋₁ + β₀ + β₊₁)",
            thin_trading=True,
        ),
        Model(
            "garch",
            ("mkt",),
            description="market model with GARCH(1,1) errors: R = α + β R_m + ε, ε = √h z, h = ω + a ε²₋₁ + b h₋₁; "
            "ARs standardized by the conditional variance forecast",
            fitter="garch",
        ),
        Model(
            "scholes-williams",
            ("mkt",),
            description="market model with the Scholes–Williams (1977) beta: (β₋₁ + β₀ + β₊₁)/(1 + 2ρ_m), V = σ̂² I",
            thin_trading=True,
            fitter="scholes-williams",
        ),
        Model(
            "trade-to-trade",
            ("mkt",),
            description="trade-to-trade market model (Maynes & Rumsey 1993): log returns over the sessions since the "
            "last trade, r = n α + β r_m(n) + u, Var(u) = n σ²",
            thin_trading=True,
            fitter="trade-to-trade",
        ),
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


# regressors a model derives from the market's own series: the session before, the session after
SHIFTED = {"mkt_lag1": 1, "mkt_lead1": -1}


def with_shifted_market(regressors, model: Model):
    """``regressors`` with the lagged and leading market columns ``model`` needs, made from
    ``mkt`` by shifting one session (rows are sessions) when they are not given."""
    need = [c for c in model.columns if c in SHIFTED and c not in regressors]
    if not need or "mkt" not in regressors:
        return regressors
    return regressors.assign(**{c: regressors["mkt"].shift(SHIFTED[c]) for c in need})


def get_model(name: str) -> Model:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None


@dataclass(frozen=True)
class ModelFit:
    """Per firm-event: θ (N × K), σ² (N,), (X′X)⁻¹ (N × K × K), valid estimation days L (N,),
    ``ar`` = y − Xθ̂ on every relative day (N × G: the residuals on estimation days, the abnormal
    returns after; NaN where y or X is missing) and the estimation mask used; per cluster (one
    event date) the regressors X (C × G × K), and ``cluster`` (N,) mapping firm-events to them."""

    model: Model
    params: Float64Array
    sigma2: Float64Array
    xtx_inv: Float64Array
    n_obs: np.ndarray
    x: Float64Array
    ar: Float64Array
    est_mask: BoolArray
    cluster: np.ndarray

    @property
    def dof(self) -> np.ndarray:
        return self.n_obs - self.model.k

    def take(self, rows: np.ndarray) -> ModelFit:
        """The fit of the firm-events ``rows`` only (the clusters' regressors are kept)."""
        return replace(
            self,
            params=self.params[rows],
            sigma2=self.sigma2[rows],
            xtx_inv=self.xtx_inv[rows],
            n_obs=self.n_obs[rows],
            ar=self.ar[rows],
            est_mask=self.est_mask[rows],
            cluster=self.cluster[rows],
        )


def design(aligned: Aligned, model: Model) -> tuple[Float64Array, Float64Array]:
    """The dependent variable y (N × G) and the regressors X (C × G × K, per cluster) of ``model``."""
    names = list(aligned.factor_names)
    pick = [names.index(c) for c in model.columns]
    y = aligned.y
    if model.excess:
        y = y - aligned.factors[aligned.cluster, :, names.index("rf")]
    if not model.estimated:
        y = y - aligned.factors[aligned.cluster, :, names.index("mkt")]
        pick = []
    ones = np.ones((*aligned.factors.shape[:2], 1))
    return y, np.concatenate([ones, aligned.factors[:, :, pick]], axis=2)


def estimation_mask(aligned: Aligned, y: Float64Array, x: Float64Array) -> BoolArray:
    """Estimation days where the firm's return and every regressor exist."""
    x_ok = np.isfinite(x).all(axis=2)[aligned.cluster]
    return aligned.in_estimation[None, :] & np.isfinite(y) & x_ok


def outer(x: Float64Array) -> Float64Array:
    """Each day's x_g x_g′, flattened: (G × K) → (G × K²)."""
    return (x[:, :, None] * x[:, None, :]).reshape(len(x), -1)


def fit(aligned: Aligned, *, model: Model) -> ModelFit:
    """OLS of y on X over each firm's valid estimation days, all firm-events at once.

    Notes
    -----
    θ̂_i = (X_i′X_i)⁻¹ X_i′y_i and σ̂²_i = Σ_E ε̂²_it / (L_i − K) (Campbell, Lo & MacKinlay 1997,
    eqs. 4.4.5–4.4.6). Firm-events of one cluster share X, so with M the n × G matrix of valid
    days, X_i′X_i = (M · vec(x_g x_g′))_i and X_i′y_i = ((M ∘ Y) X)_i: two matrix products per
    cluster, whatever the days each firm misses. For the market-adjusted model nothing is
    estimated: θ = 0 (AR = R − R_m), and σ̂² is the variance of R − R_m over E with L − 1
    degrees of freedom. A firm-event whose X′X is singular gets NaN parameters (the caller
    excludes it).
    """
    y, x = design(aligned, model)
    mask = estimation_mask(aligned, y, x)
    n_obs = mask.sum(axis=1)
    n, k = len(y), x.shape[2]
    params, xtx_inv = np.zeros((n, k)), np.zeros((n, k, k))
    mean = np.where(mask, y, 0.0).sum(axis=1) / np.maximum(n_obs, 1)
    centred = np.where(mask, y - mean[:, None], 0.0)
    if model.estimated:
        ar, ym = y.copy(), np.where(mask, y, 0.0)
        for c, rows in aligned.clusters():
            x0 = np.where(np.isfinite(x[c]), x[c], 0.0)
            xtx_inv[rows] = _batched_inverse((mask[rows].astype(np.float64) @ outer(x0)).reshape(-1, k, k))
            params[rows] = np.matmul(xtx_inv[rows], (ym[rows] @ x0)[:, :, None])[:, :, 0]
            ar[rows] -= params[rows] @ x[c].T
        resid = np.where(mask, ar, 0.0)
    else:
        ar, resid = y, centred
    ssr = np.einsum("ij,ij->i", resid, resid)
    sigma2 = residual_variance(ssr, np.einsum("ij,ij->i", centred, centred), n_obs - model.k)
    return ModelFit(model, params, sigma2, xtx_inv, n_obs, x, ar, mask, aligned.cluster)


PERFECT_FIT = 1e-10
"""The share of the returns' variation over the estimation window (Σ (y − ȳ)²) below which the
residuals' sum of squares is rounding, not variance: a fit with R² above 1 − 1e-10 (a series
that is its benchmark, or a suspended stock's constant return) has σ̂² = 0 and is excluded. The
two engines' arithmetic differs there (explicit residuals, differences of running sums), so
without this they kept such a firm or not by chance."""


def residual_variance(ssr: Float64Array, tss: Float64Array, dof: Float64Array) -> Float64Array:
    """σ̂² = SSR / dof, 0 where SSR is at most :data:`PERFECT_FIT` of the total sum of squares
    ``tss`` (NaN stays NaN: a singular fit)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ssr > PERFECT_FIT * tss, ssr / dof, np.where(np.isnan(ssr), np.nan, 0.0))


SINGULAR = 1e-12
"""The determinant of X′X's correlation form below which a fit is singular (:func:`_batched_inverse`)."""


def _batched_inverse(xtx: Float64Array) -> Float64Array:
    """Inverse of each K × K matrix; NaN where one is (numerically) singular.

    Singularity is judged on the correlation form D^{-1/2} X′X D^{-1/2} (D its diagonal): its
    determinant lies in [0, 1] whatever the scale of the regressors, and one below :data:`SINGULAR` means
    a regressor is (nearly) a combination of the others — e.g. a benchmark that never moved."""
    out = np.full_like(xtx, np.nan)
    diag = np.einsum("nkk->nk", xtx)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = 1.0 / np.sqrt(diag)
        det = np.linalg.det(xtx * scale[:, :, None] * scale[:, None, :]) if len(xtx) else np.array([])
    ok = np.isfinite(det) & (det > SINGULAR)
    if ok.any():
        out[ok] = np.linalg.inv(xtx[ok])
    return out
