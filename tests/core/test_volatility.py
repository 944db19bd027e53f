"""Abnormal volatility (METHODS.md §2a): U and U* by hand, the cross-sectional and portfolio
variance-ratio tests by hand, size without an effect and power with a variance rise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy.core.engine import run_event_study
from eventstudy.core.volatility import abnormal_volatility, per_event, u_star
from eventstudy.core.volatility import tests as volatility_tests
from eventstudy.core.windows import Window

from ..helpers import synthetic_panel


def test_u_and_u_star_by_hand():
    path = pd.DataFrame(
        {"event_id": ["a", "a", "b"], "ticker": ["A", "A", "B"], "day": [0, 1, 0], "sar": [2.0, -1.0, 0.5]}
    )
    u = u_star(path, pd.Series({"a": 10.0, "b": 4.0}))
    assert u.u.tolist() == [4.0, 1.0, 0.25]
    np.testing.assert_allclose(u.u_star, [4.0 * 8 / 10, 1.0 * 8 / 10, 0.25 * 2 / 4])  # (d − 2)/d: mean 1 under H0
    ev = per_event(u, [Window(0, 1), Window(0, 0)])
    a = ev[(ev.event_id == "a") & (ev.window == "[0,+1]")].iloc[0]
    assert a.days == 2 and a.chow_f == pytest.approx(2.5) and a.u_star == pytest.approx(2.0)
    assert a.p_chow == pytest.approx(stats.f.sf(2.5, 2, 10))
    b = ev[(ev.event_id == "b") & (ev.window == "[0,+1]")].iloc[0]
    assert np.isnan(b.u_star)  # a window day without an AR: no mean over a part of it


def test_cross_sectional_and_portfolio_forms_by_hand():
    events = pd.DataFrame({"event_id": list("abcd"), "window": "[0,0]", "u_star": [1.0, 2.0, 3.0, 6.0]})
    empty = pd.DataFrame(columns=["event_id", "day", "u_star"])
    out = volatility_tests(events, empty, {"g": list("abcd")}, [Window(0, 0)])
    y = np.array([1.0, 2.0, 3.0, 6.0]) - 1  # Hall's t of Ū* − 1, by hand: S = 2/√(14/3), γ̂ = 18/(4 s³)
    s_, g = 2 / np.sqrt(14 / 3), 18 / (4 * np.sqrt(14 / 3) ** 3)
    t = 2 * (s_ + g * s_**2 / 3 + g**2 * s_**3 / 27 + g / 24)
    assert out.stat.iloc[0] == pytest.approx(t) and out.dist.iloc[0] == "N(0,1)"
    assert y.mean() == 2
    # portfolio: the group's mean U* on the window's day against its estimation days
    u = pd.DataFrame({"event_id": ["a", "b"], "day": [0, 0], "u_star": [3.0, 5.0]})
    est = pd.DataFrame(
        {"event_id": ["a", "b"] * 4, "day": np.repeat([-4, -3, -2, -1], 2), "u_star": [2.5, 1.5, 1, 1, 2, 0, 1, 1.0]}
    )
    both = volatility_tests(events[:2], u, {"g": ["a", "b"]}, [Window(0, 0)], estimation_u=est)
    row = both[both.test == "variance-ratio-portfolio"].iloc[0]
    daily = np.array([2.0, 1.0, 1.0, 1.0])  # the group's mean U* on each estimation day
    want = (4.0 - daily.mean()) / (daily.std(ddof=1) * np.sqrt(1 / 1 + 1 / 4))
    assert row.stat == pytest.approx(want) and row.dist == "t(3)" and row.mean_u == 4.0 and row.n_firms == 2
    assert row.p == pytest.approx(2 * stats.t.sf(abs(want), 3))


def _rates(draws: int, scale: float) -> pd.Series:
    hits = {}
    for seed in range(draws):
        r, x, e = synthetic_panel(30, 160, event_pos=150, seed=seed)
        rng = np.random.default_rng(1000 + seed)
        r.iloc[150] = x.mkt.iloc[150] + (r.iloc[150] - x.mkt.iloc[150]) * np.sqrt(scale)  # the residual's sd × √scale
        r.iloc[150] += rng.normal(0, 0, 30)
        res = run_event_study(
            r, x, e, estimation=(-120, -11), windows=[(0, 0)], path=(-5, 5), min_estimation_obs=80, influence=False
        )
        v = abnormal_volatility(res, Window(-5, 5))
        for row in v.tests.itertuples():
            hits[row.test] = hits.get(row.test, 0) + int(row.p < 0.05)
    return pd.Series(hits) / draws


def test_size_without_a_variance_change_and_power_with_one():
    """N = 30 independent firms, normal residuals: the skewness-corrected test rejects about 7 % at
    5 % (a plain t, about 10 %; module docstring); with the variance ×4 on day 0, nearly always."""
    null = _rates(300, 1.0)["variance-ratio-t"]
    assert 0.02 <= null <= 0.10
    assert _rates(60, 4.0)["variance-ratio-t"] > 0.8
