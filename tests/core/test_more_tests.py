"""The tests added from METHODS.md §5: Wilcoxon signed-rank, Kolari–Pynnönen-adjusted Patell,
Corrado–Zivney, Hall's skewness-corrected t and the permutation test — each against its worked
value by hand, then size and power on synthetic panels of independent firms."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from eventstudy.core.engine import run_event_study
from eventstudy.core.inference import TESTS
from eventstudy.core.inference.parametric import patell_kp, skewness_t
from eventstudy.core.inference.rank import corrado_zivney, wilcoxon
from eventstudy.core.inference.resampling import permutation, subsets

from ..helpers import REPO, synthetic_panel

NEW = ["wilcoxon", "patell-kp", "corrado-zivney", "skewness-t", "permutation"]


def test_wilcoxon_worked_case():
    s = SimpleNamespace(cars=lambda: np.array([0.01, -0.02, 0.03, 0.04, 0.05]), n=5)
    r = wilcoxon(s)
    assert r.detail.startswith("W⁺ = 13 of n = 5")
    assert r.stat == pytest.approx(1.483240, abs=1e-6) and r.pvalue == pytest.approx(6 / 32)
    # above 25 CARs (or with ties) the normal approximation with the tie-corrected variance
    x = np.r_[np.arange(1, 31) / 100, -0.05, -0.05]
    big = wilcoxon(SimpleNamespace(cars=lambda: x, n=len(x)))
    ranks = stats.rankdata(np.abs(x))
    n, w = len(x), ranks[x > 0].sum()
    var = n * (n + 1) * (2 * n + 1) / 24 - (3**3 - 3) / 48  # |x| = 0.05 three times: one tie group
    assert big.stat == pytest.approx((w - n * (n + 1) / 4) / np.sqrt(var)) and big.dist == "N(0,1)"


def test_wilcoxon_with_many_ties_and_both_signs_matches_scipy():
    """Values rounded to 0.001 tie often, with both signs on one |CAR| (the one sort ranks |x| and
    keeps each sign): z and p as scipy's normal approximation with the tie-corrected variance."""
    x = np.round(np.random.default_rng(7).normal(0.002, 0.01, 401), 3)
    x = x[x != 0]
    assert (np.abs(x)[:, None] == -x[None, :]).any()  # a value and its opposite, tied in |x|
    strided = np.repeat(x, 2)[::2]  # the same CARs, not contiguous
    ours = wilcoxon(SimpleNamespace(cars=lambda: strided, n=len(x)))
    scipy = stats.wilcoxon(x, zero_method="wilcox", correction=False, method="approx")
    w_plus = stats.rankdata(np.abs(x))[x > 0].sum()  # scipy's z is of the smaller rank sum: the sign from W⁺
    assert ours.detail.startswith(f"W⁺ = {w_plus:g} of n = {len(x)}")
    assert ours.stat == pytest.approx(np.sign(w_plus - len(x) * (len(x) + 1) / 4) * abs(scipy.zstatistic), rel=1e-12)
    assert ours.pvalue == pytest.approx(scipy.pvalue, rel=1e-10)


def test_wilcoxon_without_ties_matches_scipy():
    """Continuous CARs, no two |CAR| equal (W⁺ summed from the positive values' places, no run of
    ties): W⁺, z and p as scipy's normal approximation."""
    x = np.random.default_rng(8).normal(0.001, 0.01, 500)
    ours = wilcoxon(SimpleNamespace(cars=lambda: x, n=len(x)))
    scipy = stats.wilcoxon(x, zero_method="wilcox", correction=False, method="approx")
    w_plus = stats.rankdata(np.abs(x))[x > 0].sum()
    assert ours.detail.startswith(f"W⁺ = {w_plus:g} of n = 500")
    assert ours.stat == pytest.approx(np.sign(w_plus - 500 * 501 / 4) * abs(scipy.zstatistic), rel=1e-12)
    assert ours.pvalue == pytest.approx(scipy.pvalue, rel=1e-10)


def test_patell_kp_worked_case():
    dof = np.full(10, 98.0)
    variance = float(np.sum(dof / (dof - 2)))
    s = SimpleNamespace(
        n=10, min_dof=98, scar_sum=3 * np.sqrt(variance), patell_variance=variance, rbar=0.1, overlapping=False
    )
    s.rbar_method = ""
    assert patell_kp(s).stat == pytest.approx(2.064742, abs=1e-6)


def test_corrado_zivney_worked_case():
    ar = np.array([[0.01, -0.02, 0.00, 0.03], [0.02, 0.00, -0.01, -0.04]])
    est = np.array([[1, 1, 1, 0], [1, 1, 1, 0]], bool)
    s = SimpleNamespace(firm_ars=lambda: (ar, est), window=np.array([0, 0, 0, 1], bool), n=2)
    assert corrado_zivney(s).stat == pytest.approx(-0.577350, abs=1e-6)


def test_skewness_t_worked_case():
    x = np.array([-0.10, -0.05, 0.0, 0.05, 0.60])
    assert skewness_t(SimpleNamespace(cars=lambda: x, n=5)).stat == pytest.approx(0.949374, abs=1e-6)


def test_permutation_worked_case_and_seeded_draws():
    s = SimpleNamespace(
        ar_p=np.array([-1.0, 0.0, 1.0, 2.0, 5.0]),
        window=np.array([0, 0, 0, 0, 1], bool),
        est_days=np.array([1, 1, 1, 1, 0], bool),
        n=1,
    )
    assert permutation(s).pvalue == pytest.approx(1 / 5)
    draws, exact = subsets(250, 11)  # too many subsets: seeded draws, the same every time
    assert (
        not exact
        and draws.shape == (9999, 11)
        and (np.sort(draws, axis=1)[:, 1:] > np.sort(draws, axis=1)[:, :-1]).all()
    )
    subsets.cache_clear()
    np.testing.assert_array_equal(subsets(250, 11)[0], draws)


def test_streamed_engine_gathers_cars_and_says_what_it_cannot_compute():
    returns, regressors, events = synthetic_panel(40, 300, injected=0.01, seed=2)
    mem = run_event_study(returns, regressors, events).tests.set_index(["group", "window", "test"])
    st = run_event_study(returns, regressors, events, engine="stream").tests.set_index(["group", "window", "test"])
    for test in ("wilcoxon", "skewness-t", "patell-kp", "permutation"):
        np.testing.assert_allclose(st.xs(test, level=2).p, mem.xs(test, level=2).p, rtol=1e-10)
    cz = st.xs("corrado-zivney", level=2)
    assert cz.stat.isna().all() and cz.detail.str.contains("engine='memory'").all()


def test_robustness_as_the_literature_says():
    r = {n: TESTS[n].robustness(apart=False) for n in NEW}
    assert r["corrado-zivney"] == (True, True, True)  # ranks after re-standardizing: both
    assert r["patell-kp"] == (False, True, False)  # r̄ corrects correlation; σ from E alone
    assert r["permutation"] == (False, True, False)  # whole days move together; variance breaks it
    assert r["wilcoxon"] == (False, False, True) and r["skewness-t"] == (False, False, True)


def _size_script():
    spec = importlib.util.spec_from_file_location("size_variance", REPO / "benchmarks" / "size_variance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_size_and_power_for_independent_firms():
    """Rejection at 5 % over 250 synthetic samples of 30 independent firms: the 99 % Clopper–Pearson
    interval of each new test's rate holds 5 % under the null; with a day-0 effect of 1.5 % (σ 2 %)
    each rejects in most samples."""
    size = _size_script()
    null = size.rejection_rates(250, 30, 0.0, 1.0, "normal")
    power = size.rejection_rates(250, 30, 0.0, 1.0, "normal", effect=0.015)
    for test in NEW:
        lo, hi = size.clopper_pearson(round(null.at[test, "[0,0]"] * 250), 250, 0.99)
        assert lo <= 0.05 <= hi, (test, null.at[test, "[0,0]"])
        assert power.at[test, "[0,0]"] > 0.8, (test, power.at[test, "[0,0]"])


def test_the_exact_signed_rank_null_equals_scipy():
    rng = np.random.default_rng(0)
    for n in range(2, 26):
        x = rng.normal(0.01, 0.02, n)
        ours = wilcoxon(SimpleNamespace(cars=lambda x=x: x, n=n)).pvalue
        assert ours == pytest.approx(stats.wilcoxon(x, method="exact").pvalue, abs=1e-12)


@pytest.mark.parametrize("m, k", [(60, 4), (231, 11), (240, 17), (300, 30)])
def test_seeded_subsets_are_the_draws_of_the_plain_rejection_loop(m, k):
    """Only the rows drawn again are checked for a repeated day, by pairs of columns when short:
    the same calls to the generator as redrawing after checking every row, so the same subsets
    (a permutation p of an earlier run stays what it was)."""
    from eventstudy.core.inference import resampling

    rng = np.random.default_rng(resampling.SEED)
    rows = rng.integers(0, m, (resampling.PERMUTATIONS, k))
    while (again := (np.diff(np.sort(rows, axis=1), axis=1) == 0).any(axis=1)).any():
        rows[again] = rng.integers(0, m, (int(again.sum()), k))
    subsets.cache_clear()
    drawn, exact = subsets(m, k)
    assert not exact and drawn.dtype == np.uint16
    np.testing.assert_array_equal(drawn, rows)


def test_a_long_window_among_few_days_draws_its_subsets_without_hanging():
    """128 window days among 328 (a dated window end copied to an earlier event): a row of 128
    days drawn with replacement is 128 distinct ones with a chance of 3e-13, so redrawing such
    rows never ended; the rows are drawn without replacement instead, seeded. In a fresh process
    with a time limit, so that a hang fails the test."""
    code = (
        "import numpy as np; from eventstudy.core.inference.resampling import subsets, PERMUTATIONS\n"
        "rows, exact = subsets(328, 128)\n"
        "again = subsets.__wrapped__(328, 128)[0]\n"
        "ordered = np.sort(rows.astype(np.int64), axis=1)\n"
        "assert not exact and rows.shape == (PERMUTATIONS, 128) and np.array_equal(rows, again)\n"
        "assert (np.diff(ordered, axis=1) > 0).all() and ordered.min() >= 0 and ordered.max() < 328\n"
        "assert len(np.unique(rows[:, 0])) > 300  # every day can be drawn\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
