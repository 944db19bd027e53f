"""Confidence intervals: each the inversion of the test printed next to it, at the same level, so
that an interval excludes 0 exactly when its test rejects (pure: frames in and out).

- One firm-event: CAR_i ± t_{1−α/2}(L_i − K) √(1′V_i 1) — the prediction-error variance, t with
  the estimation's degrees of freedom (Campbell, Lo & MacKinlay 1997, ch. 4).
- A group, cross-sectional t: CAAR ± t_{1−α/2}(N − 1) s(CAR)/√N.
- A group, Kolari–Pynnönen (BMP with r̄): with w_i = 1/√(1′V_i 1), SCAR_i = w_i CAR_i and
  y_i(δ) = SCAR_i − δ w_i, the δ whose |mean(y)|/(s(y)/√N) ≤ c/κ, c = t_{1−α/2}(N − 1),
  κ = √((1 − r̄)/(1 + (N − 1) r̄)):

  (m_w² − c′² v_w/N) δ² − 2 (m_s m_w − c′² v_sw/N) δ + (m_s² − c′² v_s/N) ≤ 0,  c′ = c/κ,

  m and v the means and variances (ddof 1) of SCAR and w, v_sw their covariance. A positive
  leading coefficient gives the interval between the roots; otherwise the set is unbounded.
  Its centre is a precision-weighted mean, not the CAAR (METHODS.md §6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inference.statistic import t_quantile
from .results import CarTable

LEVEL = 0.95
INTERVAL_COLUMNS = ["group", "window", "test", "n", "estimate", "lo", "hi", "centre", "level", "note"]


def car_intervals(car: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """``car`` (``car, se, dof``) with ``ci_lo``, ``ci_hi``: CAR ± t(dof) se (the quantile worked
    out once per distinct dof: a million rows have a few hundred, found by hashing — sorting
    3,000,000 rows for them took 0.1–0.4 s)."""
    at, dof = pd.factorize(car.dof.to_numpy(dtype=float), sort=True, use_na_sentinel=False)
    q = t_quantile(0.5 + level / 2, dof)[at]
    half = q * car.se.to_numpy(dtype=float)
    return car.assign(ci_lo=car.car - half, ci_hi=car.car + half)


def csect_interval(x: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """CAAR ± t(N − 1) s/√N."""
    n = len(x)
    if n < 2:
        return np.nan, np.nan
    half = t_quantile(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return x.mean() - half, x.mean() + half


def bmp_interval(car: np.ndarray, se: np.ndarray, rbar: float = 0.0, level: float = LEVEL):
    """The δ the (Kolari–Pynnönen-adjusted, when ``rbar`` ≠ 0) BMP test does not reject at
    ``level``: (lo, hi, centre), or (−∞, ∞, centre) when the set is unbounded."""
    n = len(car)
    if n < 3 or not np.isfinite(rbar):
        return np.nan, np.nan, np.nan
    kappa2 = (1 - rbar) / (1 + (n - 1) * rbar)
    if not kappa2 > 0:
        return np.nan, np.nan, np.nan
    w = 1.0 / np.asarray(se, dtype=float)
    s = np.asarray(car, dtype=float) * w
    c2 = t_quantile(0.5 + level / 2, n - 1) ** 2 / kappa2
    m_s, m_w = s.mean(), w.mean()
    v_s, v_w = s.var(ddof=1), w.var(ddof=1)
    v_sw = np.cov(s, w, ddof=1)[0, 1]
    a = m_w**2 - c2 * v_w / n
    b = -2 * (m_s * m_w - c2 * v_sw / n)
    c = m_s**2 - c2 * v_s / n
    centre = m_s / m_w  # where mean(y) = 0: the statistic is 0
    if a <= 0:
        return -np.inf, np.inf, centre
    root = np.sqrt(max(b * b - 4 * a * c, 0.0))
    return (-b - root) / (2 * a), (-b + root) / (2 * a), centre


def caar_intervals(table: CarTable, tests: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Per group and window, the CAAR's interval from the cross-sectional t and from
    Kolari–Pynnönen (:data:`INTERVAL_COLUMNS`), from each group's CARs and their standard errors
    (``table``, with the columns ``car`` and ``se``) and the tests' r̄ (Kolari–Pynnönen's row of
    ``tests``)."""
    rbar = tests[tests.test == "kolari-pynnonen"].set_index(["group", "window"]).rbar
    at = table.groups
    rows = []
    for j, window in enumerate(table.windows):
        for group in at:
            x, se = table.values["car"][at[group], j], table.values["se"][at[group], j]
            ok = ~(np.isnan(x) | np.isnan(se))
            x, se = x[ok], se[ok]
            caar = x.mean() if len(x) else np.nan
            lo, hi = csect_interval(x, level)
            rows.append((group, window, "csect-t", len(x), caar, lo, hi, caar, level, ""))
            r = float(rbar.get((group, window), np.nan))
            lo, hi, centre = bmp_interval(x, se, r, level)
            note = "unbounded" if np.isinf(lo) else ("" if np.isfinite(lo) else "not computed")
            rows.append((group, window, "kolari-pynnonen", len(x), caar, lo, hi, centre, level, note))
    out = pd.DataFrame(rows, columns=INTERVAL_COLUMNS)
    order = {g: i for i, g in enumerate(at)}
    return out.sort_values("group", key=lambda g: g.map(order), kind="stable").reset_index(drop=True)
