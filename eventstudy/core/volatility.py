"""Abnormal volatility (METHODS.md §2a, after Beaver 1968): did the event raise the variance of
the abnormal returns?

U_iτ = SAR²_iτ = AR²_iτ / V_i[τ,τ] is F(1, d_i) under H0 (normal residuals, the model and σ
unchanged), with mean d_i/(d_i − 2); U*_iτ = U_iτ (d_i − 2)/d_i has mean 1. Per firm-event and
window, Ū*_i is the mean of U* over the window's days and F_i = mean of U over them is compared
with F(L2, d_i) (the Chow forecast test with V's diagonal: its off-diagonal terms, the parameter
uncertainty shared by the days, are left out). Per group:

- ``variance-ratio-t`` (ours, METHODS.md): mean_i Ū*_i against 1 with the dispersion taken across
  firms (fat tails make Var(U) far exceed its normal value). U is strongly right-skewed (F(1, d)),
  so the plain t(N − 1) of METHODS.md rejects about 10 % at 5 % for N = 30 firms without any change
  (all of it in the lower tail); Hall's (1992) skewness-corrected t of Ū*_i − 1, N(0, 1), is used
  instead (about 7 % there: read p near 0.05 with care);
- ``variance-ratio-portfolio`` (one shared date; ours): Ū*_t, the firms' mean U* on every session
  of the estimation window (the residuals' U, scaled to mean 1 per firm) and of the event window;
  t = (mean_W Ū*_t − mean_E Ū*_t) / (s_E(Ū*_t) √(1/L2 + 1/L_p)) ~ t(L_p − 1): cross-correlated
  firms move together in Ū*_t, so their dependence is in s_E.

A test of a variance *rise* is one-sided in spirit; the p-values are two-sided like every other
test of the toolkit. Neither test's size has a paper behind it: the placebo shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .inference.parametric import hall_t
from .inference.statistic import f_upper, t_two_sided, z_two_sided
from .windows import Window

TEST_COLUMNS = ["group", "window", "test", "stat", "p", "dist", "n_firms", "mean_u", "detail"]
EVENT_COLUMNS = ["event_id", "ticker", "window", "days", "dof", "u_star", "chow_f", "p_chow"]


def u_star(ar_path: pd.DataFrame, dof: pd.Series) -> pd.DataFrame:
    """``ar_path`` (``event_id, day, sar``) with ``u`` = SAR² and ``u_star`` = U (d − 2)/d,
    ``dof``: each event's d = L − K."""
    d = ar_path.event_id.map(dof).to_numpy(dtype=float)
    u = ar_path.sar.to_numpy(dtype=float) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(d > 2, u * (d - 2) / d, np.nan)
    return ar_path.assign(u=u, u_star=scaled, dof=d)


def per_event(u: pd.DataFrame, windows: Sequence[Window]) -> pd.DataFrame:
    """Per firm-event and window: the days with a U, d, Ū*, and the diagonal Chow F with its p."""
    rows = []
    for w in windows:
        inside = u[(u.day >= w.start) & (u.day <= w.end)].dropna(subset=["u"])
        g = inside.groupby(["event_id", "ticker"], sort=False)
        frame = g.agg(days=("u", "size"), dof=("dof", "first"), u_star=("u_star", "mean"), chow_f=("u", "mean"))
        frame = frame.reset_index().assign(window=w.label)
        frame["p_chow"] = f_upper(frame.chow_f, frame.days, frame.dof)
        frame.loc[frame.days < w.length, ["u_star", "chow_f", "p_chow"]] = np.nan  # a day without an AR
        rows.append(frame[EVENT_COLUMNS])
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=EVENT_COLUMNS)


def tests(
    events: pd.DataFrame,
    u: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    windows: Sequence[Window],
    estimation_u: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The group tests of each window (see the module); ``estimation_u`` (``event_id, day,
    u_star`` over the estimation window, one shared date) adds the portfolio form."""
    rows = []
    for group, ids in groups.items():
        ids = set(ids)
        mine = events[events.event_id.isin(ids)]
        portfolio = None
        if estimation_u is not None:  # each day's mean U* of the group, on the path and over the estimation window
            theirs = u[u.event_id.isin(ids)]
            daily = estimation_u[estimation_u.event_id.isin(ids)].groupby("day").u_star.mean().dropna()
            portfolio = (theirs.groupby("day").u_star.mean(), int(theirs.event_id.nunique()), daily)
        for w in windows:
            sub = mine[mine.window == w.label].u_star.dropna().to_numpy()
            rows.append((group, w.label, *_cross_section(sub)))
            if portfolio is not None:
                rows.append((group, w.label, *_portfolio(*portfolio, w)))
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def _cross_section(x: np.ndarray) -> tuple:
    n = len(x)
    if n < 3 or not x.std(ddof=1) > 0:
        return "variance-ratio-t", np.nan, np.nan, "", n, x.mean() if n else np.nan, "not computed: fewer than 3 firms"
    t, gamma = hall_t(x - 1.0)
    return (
        "variance-ratio-t",
        t,
        z_two_sided(t),
        "N(0,1)",
        n,
        x.mean(),
        f"skewness-corrected; γ̂ = {gamma:.3f}",
    )


def _portfolio(path: pd.Series, n: int, daily: pd.Series, w: Window) -> tuple:
    """The portfolio form for one group: ``path`` its mean U* on each day of the path (a day's
    mean is the same over the whole path as over a window), ``n`` its firm-events, ``daily`` its
    mean U* on each estimation day."""
    window = path[(path.index >= w.start) & (path.index <= w.end)]
    if len(daily) < 3 or window.isna().any() or len(window) < w.length or not daily.std(ddof=1) > 0:
        return "variance-ratio-portfolio", np.nan, np.nan, "", n, np.nan, "not computed: too few days"
    l_p, l2 = len(daily), len(window)
    t = (window.mean() - daily.mean()) / (daily.std(ddof=1) * np.sqrt(1 / l2 + 1 / l_p))
    detail = f"mean Ū* over the estimation window {daily.mean():.3f}"
    return "variance-ratio-portfolio", t, t_two_sided(t, l_p - 1), f"t({l_p - 1})", n, window.mean(), detail


def estimation_u(residuals: pd.DataFrame, sigma: pd.Series, n_est: pd.Series, k: int) -> pd.DataFrame:
    """U* of the estimation window's residuals (``event_id, day, resid``): e²/σ̂² sums to L − K
    over the window, so U* = e²/σ̂² · L/(L − K) has mean 1 per firm, as the event window's U*
    has under H0."""
    s2 = residuals.event_id.map(sigma).to_numpy(float) ** 2
    n = residuals.event_id.map(n_est).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = residuals.resid.to_numpy(float) ** 2 / s2 * n / (n - k)
    return residuals.assign(u_star=scaled)


@dataclass(frozen=True)
class Volatility:
    """An abnormal-volatility study: ``events`` (:data:`EVENT_COLUMNS`), ``tests``
    (:data:`TEST_COLUMNS`), ``daily`` (``group, day, u_star``: each group's mean U* on each day of
    the path) and the windows left out (they reach past the path: no AR there)."""

    events: pd.DataFrame
    tests: pd.DataFrame
    daily: pd.DataFrame
    left_out: tuple[str, ...] = ()


def abnormal_volatility(result, path: Window, residuals: pd.DataFrame | None = None) -> Volatility:
    """The abnormal volatility of a core ``result`` (an EventStudyResult with its per-day ARs)
    over its windows inside ``path``; ``residuals`` (``event_id, day, resid`` over the estimation
    window, one shared date) add the portfolio form."""
    ev = result.events.set_index("event_id")
    dof = ev.n_est - result.model.k
    u = u_star(result.ar, dof)
    inside = [w for w in result.windows if path.start <= w.start and w.end <= path.end]
    left_out = tuple(w.label for w in result.windows if w not in inside)
    est = None if residuals is None else estimation_u(residuals, ev.sigma, ev.n_est, result.model.k)
    events = per_event(u, inside)
    group_of = [(g, e) for g, ids in result.groups.items() for e in ids]
    membership = pd.DataFrame(group_of, columns=["group", "event_id"])
    daily = membership.merge(u[["event_id", "day", "u_star"]], on="event_id").groupby(["group", "day"], sort=False)
    return Volatility(
        events,
        tests(events, u, result.groups, inside, est),
        daily.u_star.mean().reset_index(),
        left_out,
    )
