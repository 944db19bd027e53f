"""Properties of the core that must hold for any data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstudy.core.engine import run_event_study
from eventstudy.core.windows import Window, as_slice

from ..helpers import synthetic_panel

KW = dict(estimation=Window(-60, -6), windows=[Window(0, 0), Window(-2, 2)], path=Window(-5, 5), min_estimation_obs=30)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 10_000)
shifts = st.floats(-0.05, 0.05, allow_nan=False, allow_infinity=False)


def panel(seed):
    return synthetic_panel(n_firms=4, n_days=80, event_pos=70, seed=seed, injected=0.01)


def ars(returns, regressors, events, model):
    res = run_event_study(returns, regressors, events, model=model, **KW)
    return res.ar.set_index(["ticker", "day"]).ar


@SETTINGS
@given(seeds, shifts)
def test_constant_mean_ars_ignore_a_constant_added_to_a_firm(seed, c):
    returns, regressors, events = panel(seed)
    shifted = returns.copy()
    shifted["F002"] += c
    a, b = ars(returns, regressors, events, "constant-mean"), ars(shifted, regressors, events, "constant-mean")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-12)


@SETTINGS
@given(seeds, shifts)
def test_market_adjusted_ars_ignore_a_constant_added_to_firm_and_market(seed, c):
    returns, regressors, events = panel(seed)
    a = ars(returns, regressors, events, "market-adjusted")
    b = ars(returns + c, regressors + c, events, "market-adjusted")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-12)


@SETTINGS
@given(seeds)
def test_a_firm_identical_to_the_market_has_zero_market_adjusted_ar(seed):
    returns, regressors, events = panel(seed)
    returns["F001"] = regressors.mkt
    res = run_event_study(returns, regressors, events, model="market-adjusted", **KW)
    ar = res.ar[res.ar.ticker == "F001"].ar
    assert np.allclose(ar, 0.0, atol=1e-15)


@SETTINGS
@given(seeds, st.permutations(range(4)))
def test_permuting_firms_permutes_results(seed, order):
    returns, regressors, events = panel(seed)
    a = run_event_study(returns, regressors, events, **KW)
    b = run_event_study(returns, regressors, events.iloc[list(order)].reset_index(drop=True), **KW)
    key = ["ticker", "window"]
    pd.testing.assert_frame_equal(
        a.car.sort_values(key).reset_index(drop=True), b.car.sort_values(key).reset_index(drop=True), atol=1e-13, rtol=0
    )
    np.testing.assert_allclose(a.tests.stat, b.tests.stat, atol=1e-10)


@given(st.lists(st.integers(0, 9), max_size=10, unique=True))
def test_rows_as_a_slice_select_the_same_rows(rows):
    """Consecutive increasing rows become a view; any other order stays a fancy index."""
    a = np.arange(30.0).reshape(10, 3)
    rows = np.array(rows, dtype=np.int64)
    picked = as_slice(rows)
    np.testing.assert_array_equal(a[picked], a[rows])
    assert isinstance(picked, slice) == (len(rows) > 0 and bool((np.diff(rows) == 1).all()))


@SETTINGS
@given(seeds, st.permutations(range(4)))
def test_a_group_in_any_order_gives_the_same_tests(seed, order):
    returns, regressors, events = panel(seed)
    ids = list(events.event_id)
    res = run_event_study(returns, regressors, events, groups={"a": ids, "b": [ids[i] for i in order]}, **KW)
    a, b = (res.tests[res.tests.group == g].reset_index(drop=True) for g in "ab")
    np.testing.assert_allclose(a.stat, b.stat, rtol=1e-12, atol=1e-12)


def test_in_memory_numbers_do_not_depend_on_the_callers_blas_threads():
    """The same bits whether the caller lets BLAS run one thread or two: 800 firms' products are
    large enough for OpenBLAS to split them (every frame differed in its last bits before the
    engine held BLAS to one thread). On a one-core machine both runs take one thread."""
    from threadpoolctl import threadpool_limits

    returns, regressors, events = synthetic_panel(800, 300, rho=0.1, seed=3)
    runs = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            runs.append(run_event_study(returns, regressors, events, engine="memory"))
    for name in ("events", "car", "tests", "caar", "influence", "intervals"):
        pd.testing.assert_frame_equal(getattr(runs[0], name), getattr(runs[1], name), check_exact=True, obj=name)
