"""Long horizons (METHODS.md §3): BHAR by compounding by hand, short windows said, the
skewness-adjusted t's worked value and its seeded bootstrap, the calendar-time regression's
worked case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from eventstudy.core.longrun import bhar, bootstrap_p, calendar_time, ols_hc3, skewness_adjusted
from eventstudy.core.windows import Window

DAYS = pd.bdate_range("2024-01-01", periods=8)


def test_bhar_by_compounding_and_short_windows_said():
    returns = pd.DataFrame(
        {
            "A": [0.0, 0.01, 0.02, -0.01, 0.03, 0.0, 0.01, 0.02],
            "B": [0.0, 0.05, np.nan, 0.01, 0.0, 0.0, 0.0, 0.0],  # a missing return inside its life
            "C": [0.0, 0.02, 0.01, np.nan, np.nan, np.nan, np.nan, np.nan],  # its returns stop: a delisting
        },
        index=DAYS,
    )
    ref = pd.Series([0.0, 0.01, 0.0, 0.01, 0.0, 0.01, 0.0, 0.01], index=DAYS)
    events = pd.DataFrame({"event_id": list("abc"), "ticker": list("ABC"), "event_date": DAYS[0]})
    table, path = bhar(returns, ref, events, [Window(1, 4), Window(1, 10)])
    a = table[(table.event_id == "a") & (table.window == "[+1,+4]")].iloc[0]
    firm, bench = np.prod([1.01, 1.02, 0.99, 1.03]) - 1, np.prod([1.01, 1.0, 1.01, 1.0]) - 1
    assert a.bhar == pytest.approx(firm - bench, abs=1e-15) and a.sessions == 4 and a.short == ""
    long_a = table[(table.event_id == "a") & (table.window == "[+1,+10]")].iloc[0]
    assert long_a.sessions == 7 and long_a.short == "the data end: 7 of 10 sessions"
    b = table[(table.event_id == "b") & (table.window == "[+1,+4]")].iloc[0]
    assert np.isnan(b.bhar) and b.short == "1 missing return(s) inside the window: no BHAR"
    c = table[(table.event_id == "c") & (table.window == "[+1,+4]")].iloc[0]
    assert c.sessions == 2 and c.short.startswith("the firm's returns stop")
    assert c.bhar == pytest.approx((1.02 * 1.01 - 1) - (1.01 * 1.0 - 1), abs=1e-15)  # held to its last return
    pa = path[path.event_id == "a"].set_index("day").bhar
    assert pa[4] == pytest.approx(a.bhar, abs=1e-15)


def test_skewness_adjusted_t_worked_value_and_seeded_bootstrap():
    x = np.array([-0.10, -0.05, 0.0, 0.05, 0.60])
    t_sa, gamma, big_s = skewness_adjusted(x)
    assert (t_sa, gamma, big_s) == pytest.approx((0.945999, 0.971510, 0.350823), abs=1e-6)
    p = bootstrap_p(x, t_sa)
    assert 0 < p <= 1 and bootstrap_p(x, t_sa) == p  # the same seed, the same p
    strong = np.random.default_rng(3).normal(0.05, 0.02, 200)
    assert bootstrap_p(strong, skewness_adjusted(strong)[0]) < 0.01


def test_calendar_time_worked_case():
    """METHODS.md: MKT = (1, −1, 2, −2, 0, 0), R_p − R_f = 0.5 + MKT + (0, 0, 0, 0, 0.1, −0.1):
    â = 0.5 and b̂ = 1 exactly; the t here uses HC3 (statsmodels as the second implementation)."""
    days = pd.bdate_range("2024-01-01", periods=7)
    mkt = np.array([0.0, 1, -1, 2, -2, 0, 0])
    rp = 0.5 + mkt + np.array([0, 0, 0, 0, 0, 0.1, -0.1])
    factors = pd.DataFrame({"mkt_rf": mkt, "rf": 0.0}, index=days)
    returns = pd.DataFrame({"F": rp}, index=days)
    events = pd.DataFrame({"event_id": ["e"], "ticker": ["F"], "event_date": [days[0]]})
    fit = calendar_time(returns, events, Window(1, 6), factors, ["mkt_rf"], min_firms=1)
    want = sm.OLS(rp[1:], sm.add_constant(mkt[1:])).fit(cov_type="HC3")
    assert fit.alpha == pytest.approx(0.5, abs=1e-12) and fit.sessions == 6
    assert fit.t == pytest.approx(want.tvalues[0]) and fit.min_firms == 1
    assert calendar_time(returns, events, Window(1, 6), factors, ["mkt_rf"], min_firms=2) is None


def test_ols_hc3_is_statsmodels_hc3():
    """The calendar-time regression's own OLS with HC3 t statistics against statsmodels' (the
    second implementation), on skewed, heteroskedastic data with three factors."""
    rng = np.random.default_rng(11)
    x = sm.add_constant(rng.standard_normal((250, 3)))
    y = x @ [0.002, 1.1, -0.4, 0.3] + rng.standard_t(4, 250) * (0.5 + np.abs(x[:, 1]))
    beta, t = ols_hc3(y, x)
    want = sm.OLS(y, x).fit(cov_type="HC3")
    np.testing.assert_allclose(beta, want.params, rtol=1e-12)
    np.testing.assert_allclose(t, want.tvalues, rtol=1e-12)
    assert not np.allclose(t, sm.OLS(y, x).fit().tvalues, rtol=1e-3)  # HC3, not the classical t
