"""Confidence intervals against METHODS.md §6's worked check, and by construction: each interval
is the set of values its test does not reject, so its ends sit where the test's p is 5 %."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy.core.engine import run_event_study
from eventstudy.core.intervals import bmp_interval, csect_interval
from tests.conftest import synthetic_panel

CAR = np.array([0.02, 0.05, -0.01, 0.04])
SE = np.array([0.02, 0.04, 0.02, 0.03])


def test_the_worked_check():
    assert csect_interval(CAR) == pytest.approx((-0.017100, 0.067100), abs=1e-6)
    lo, hi, centre = bmp_interval(CAR, SE)
    assert (lo, hi) == pytest.approx((-0.011523, 0.094403), abs=1e-6)
    for end in (lo, hi):  # t_BMP at each end is the critical value t(3)
        y = CAR / SE - end / SE
        assert abs(y.mean() / (y.std(ddof=1) / 2)) == pytest.approx(stats.t.ppf(0.975, 3), rel=1e-9)
    assert bmp_interval(CAR, np.full(4, 0.03))[:2] == pytest.approx(csect_interval(CAR), abs=1e-12)  # equal se


def test_kolari_pynnonen_widens_by_kappa():
    lo0, hi0, _ = bmp_interval(CAR, SE)
    lo, hi, _ = bmp_interval(CAR, SE, rbar=0.2)
    assert lo < lo0 and hi > hi0
    kappa = np.sqrt((1 - 0.2) / (1 + 3 * 0.2))
    y = CAR / SE - lo / SE
    t_kp = y.mean() / (y.std(ddof=1) / 2) * kappa  # Kolari–Pynnönen's statistic at the end: critical
    assert abs(t_kp) == pytest.approx(stats.t.ppf(0.975, 3), rel=1e-9)
    assert np.isinf(bmp_interval(CAR, SE, rbar=0.9)[0])  # c/κ too large for the data: unbounded


def test_every_interval_excludes_zero_exactly_when_its_test_rejects():
    returns, regressors, events = synthetic_panel(n_firms=25, seed=8, rho=0.2)
    returns.loc[events.event_date.iloc[0]] += np.linspace(-0.01, 0.03, 25)
    res = run_event_study(returns, regressors, events, windows=[(0, 0), (-1, 1), (0, 2)])
    car = res.car
    want_lo = car.car - stats.t.ppf(0.975, car.dof) * car.se
    np.testing.assert_allclose(car.ci_lo, want_lo, rtol=1e-12)
    assert ((car.ci_lo > 0) | (car.ci_hi < 0)).eq(car.p < 0.05).all()
    iv = res.intervals.set_index(["window", "test"])
    tests = res.tests.set_index(["window", "test"]).p
    for (window, test), row in iv.iterrows():
        excludes = row.lo > 0 or row.hi < 0
        assert excludes == (tests[(window, test)] < 0.05), (window, test)
        if test == "csect-t":
            assert row.estimate == pytest.approx(res.car_of(window).car.mean())


def test_the_caar_path_band_is_the_portfolio_tests_interval():
    returns, regressors, events = synthetic_panel(n_firms=10, seed=2)
    res = run_event_study(returns, regressors, events, windows=[(0, 0)])
    caar = res.caar
    dof = int(res.test("all", "[0,0]", "portfolio").dist.strip("t()"))
    half = stats.t.ppf(0.975, dof) * caar.se
    np.testing.assert_allclose(caar.hi - caar.caar, half, rtol=1e-12)
    assert isinstance(caar, pd.DataFrame) and {"lo", "hi"} <= set(caar)


def test_the_wide_table_has_each_groups_p_and_interval_of_each_test():
    """wide_tests against the table built by hand: a row per group and window in the tests'
    order, a p per test (NaN where a group lacks the test) and the interval's text beside the
    tests that have one (missing where a group has none)."""
    from eventstudy.core.results import interval_text, wide_tests

    tests = pd.DataFrame(
        {
            "group": ["a", "a", "a", "b", "b", "a", "a"],
            "window": ["[0,0]", "[0,0]", "[0,0]", "[0,0]", "[0,0]", "[-1,+1]", "[-1,+1]"],
            "test": ["kp", "grank", "patell", "kp", "patell", "kp", "grank"],
            "p": [0.01, 0.2, 0.03, np.nan, 0.5, 0.04, 0.3],
            "caar": [-0.1, -0.1, -0.1, 0.02, 0.02, -0.15, -0.15],
            "n_firms": [5, 5, 5, 3, 3, 5, 5],
            "robust": [True, True, False, True, False, True, True],
        }
    )
    intervals = pd.DataFrame(
        {
            "group": ["a", "b", "a"],
            "window": ["[0,0]", "[0,0]", "[-1,+1]"],
            "test": ["kp", "kp", "kp"],
            "lo": [-0.2, -np.inf, -0.3],
            "hi": [-0.05, np.inf, -0.01],
            "note": ["", "unbounded", ""],
        }
    )
    got = wide_tests(tests, tests.robust, intervals)
    assert list(got.columns) == ["group", "window", "caar", "n_firms", "p_kp", "ci_kp", "p_grank"]
    assert got[["group", "window"]].values.tolist() == [["a", "[0,0]"], ["b", "[0,0]"], ["a", "[-1,+1]"]]
    np.testing.assert_array_equal(got.p_kp, [0.01, np.nan, 0.04])
    np.testing.assert_array_equal(got.p_grank, [0.2, np.nan, 0.3])  # b has no robust grank
    assert got.ci_kp.tolist() == [interval_text(-0.2, -0.05), "unbounded", interval_text(-0.3, -0.01)]
    assert wide_tests(tests, ~tests.robust).columns.tolist() == ["group", "window", "caar", "n_firms", "p_patell"]
