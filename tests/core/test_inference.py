"""Tests of the CAAR statistics against values known by construction or worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy.core import inference
from eventstudy.core.engine import run_event_study
from eventstudy.core.inference import parametric, rank, rbar, sample, statistic
from eventstudy.core.windows import Window

from ..helpers import synthetic_panel

SHORT = dict(
    estimation=Window(-120, -11), windows=[Window(0, 0), Window(-1, 1)], path=Window(-5, 5), min_estimation_obs=60
)


def _sample(car, scar, dof, ar, est, window, dates=None):
    ar = np.asarray(ar, float)
    if dates is None:
        dates = np.tile(np.arange(ar.shape[1]).astype("datetime64[D]"), (len(ar), 1))
    return sample.Sample.build(car, scar, dof, ar, est, window, dates)


def test_injected_abnormal_return_is_recovered():
    returns, regressors, events = synthetic_panel(n_firms=50, injected=-0.04, seed=11, sigma=0.01)
    res = run_event_study(returns, regressors, events, **SHORT)
    caar = res.car_of("[0,0]").car.mean()
    assert caar == pytest.approx(-0.04, abs=0.004)  # 50 firms, σ = 1 %: se of the mean ≈ 0.0014
    robust = res.tests[(res.tests.window == "[0,0]") & res.tests.robust]
    assert (robust.p < 0.001).all()


def test_hand_worked_small_sample():
    """Three firms, four estimation days and one event day, every statistic by hand."""
    ar = [[0.01, -0.02, 0.03, -0.01, -0.05], [0.02, 0.01, -0.01, -0.02, -0.03], [-0.01, 0.02, 0.0, 0.01, 0.02]]
    est = [[1, 1, 1, 1, 0]] * 3
    win = [0, 0, 0, 0, 1]
    car, scar, dof = [-0.05, -0.03, 0.02], [-2.0, -1.5, 1.0], [10, 10, 10]
    s = _sample(car, scar, dof, ar, est, win)
    assert parametric.csect_t(s).stat == pytest.approx(np.mean(car) / (np.std(car, ddof=1) / np.sqrt(3)))
    assert parametric.patell(s).stat == pytest.approx(-2.5 / np.sqrt(3 * 10 / 8))
    bmp = np.mean(scar) / (np.std(scar, ddof=1) / np.sqrt(3))
    assert parametric.bmp(s).stat == pytest.approx(bmp)
    # generalized sign: p̂ = mean(2/4, 2/4, 2/4) = 0.5 (zero is not positive); one CAR > 0
    assert rank.generalized_sign(s).stat == pytest.approx((1 - 1.5) / np.sqrt(3 * 0.25))
    # portfolio: AR_p on E = [0.00667, 0.00333, 0.00667, -0.00667], day 0 = -0.02
    ar_p = np.mean(ar, axis=0)
    assert parametric.portfolio(s).stat == pytest.approx(ar_p[4] / np.std(ar_p[:4], ddof=1))
    assert parametric.portfolio(s).dist == "t(3)"


def test_rank_test_by_hand():
    ar = np.array([[0.01, -0.02, 0.03, -0.01, -0.05], [0.02, 0.01, -0.01, -0.02, -0.03]])
    s = _sample([-0.05, -0.03], [-1, -1], [10, 10], ar, [[1, 1, 1, 1, 0]] * 2, [0, 0, 0, 0, 1])
    u = np.array([[4, 2, 5, 3, 1], [5, 4, 3, 2, 1]]) / 6  # ranks / (1 + 5)
    ubar = u.mean(axis=0)
    want = (ubar[4] - 0.5) / np.sqrt(np.mean((ubar - 0.5) ** 2))
    assert rank.corrado_rank(s).stat == pytest.approx(want)


@pytest.mark.parametrize("levels", [None, 3, 50])  # continuous; heavy ties; a few ties
def test_row_ranks_equal_scipy_rankdata(levels):
    rng = np.random.default_rng(levels or 0)
    a = rng.normal(size=(200, 37))
    if levels:
        a = rng.integers(0, levels, size=a.shape).astype(float)
    np.testing.assert_array_equal(rank.row_ranks(a), stats.rankdata(a, axis=1))


def test_standardized_ranks_skip_missing_days():
    """NaNs take no rank and do not count in M_i; ties among the rest share their mean rank."""
    ar = np.array([[0.3, np.nan, 0.1, 0.1, np.nan, -0.2], [np.nan] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    want = np.array([[4, np.nan, 2.5, 2.5, np.nan, 1], [np.nan] * 6, [1, 2, 3, 4, 5, 6]]) / np.array([[5], [1], [7]])
    np.testing.assert_array_equal(rank.standardized_ranks(ar), want)
    assert rank.row_ranks(np.empty((0, 4))).shape == (0, 4)


def test_kolari_pynnonen_equals_bmp_when_uncorrelated():
    """With residuals orthogonal across firms (r̄ = 0) the adjustment factor is 1."""
    e = np.array([[1, -1, 1, -1, 0], [1, 1, -1, -1, 0]], float)
    s = _sample([0.1, 0.2], [1.0, 2.5], [10, 10], e, [[1, 1, 1, 1, 0]] * 2, [0, 0, 0, 0, 1])
    assert rbar.mean_residual_correlation(e[:, :4]) == pytest.approx(0.0)
    assert parametric.kolari_pynnonen(s).stat == pytest.approx(parametric.bmp(s).stat)


def test_mean_correlation_fast_path_equals_pairwise():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 40)) + rng.normal(size=(1, 40))
    want = np.corrcoef(x)[~np.eye(6, dtype=bool)].mean()
    assert rbar.mean_residual_correlation(x) == pytest.approx(want, abs=1e-12)
    x[0, 3] = np.nan  # pairwise-complete path
    pairs = [
        np.corrcoef(x[i][np.isfinite(x[i] + x[j])], x[j][np.isfinite(x[i] + x[j])])[0, 1]
        for i in range(6)
        for j in range(6)
        if i != j
    ]
    assert rbar.mean_residual_correlation(x) == pytest.approx(np.mean(pairs), abs=1e-12)
    for cells in (6, 25):  # blocks of one row; of four rows and a remainder of two
        assert rbar.mean_residual_correlation(x, block_cells=cells) == pytest.approx(np.mean(pairs), abs=1e-12)


def test_invalid_statistics_say_why():
    s = _sample([0.1], [1.0], [10], [[0.1, 0.2, 0.3]], [[1, 1, 0]], [0, 0, 1])
    assert isinstance(parametric.csect_t(s), statistic.InvalidTestStatistic)
    assert "fewer than 2" in parametric.bmp(s).reason


def _rejections(rho: float, draws: int, n_firms: int) -> dict[str, float]:
    hits: dict[str, int] = {}
    for seed in range(draws):
        returns, regressors, events = synthetic_panel(
            n_firms=n_firms, n_days=140, event_pos=125, rho=rho, seed=1000 + seed
        )
        res = run_event_study(returns, regressors, events, **SHORT)
        t = res.tests[res.tests.window == "[0,0]"]
        for name, p in zip(t.test, t.p, strict=True):
            hits[name] = hits.get(name, 0) + int(p < 0.05)
    return {k: v / draws for k, v in hits.items()}


@pytest.fixture(scope="module")
def null_independent():
    return _rejections(rho=0.0, draws=200, n_firms=20)


@pytest.fixture(scope="module")
def null_correlated():
    return _rejections(rho=0.3, draws=200, n_firms=30)


@pytest.mark.parametrize("test", inference.ONE_DATE_TESTS)
def test_size_without_correlation(null_independent, test):
    """Zero effect, independent firms: every test rejects about 5 % of the time (200 draws:
    a binomial 99.9 % band is about 1–11 %)."""
    assert 0.005 <= null_independent[test] <= 0.11


def test_pvalues_uniform_under_null():
    returns, regressors, events = synthetic_panel(n_firms=400, n_days=140, event_pos=125, seed=77)
    res = run_event_study(returns, regressors, events, **SHORT)
    p = res.car_of("[0,0]").p
    assert stats.kstest(p, "uniform").pvalue > 0.001


@pytest.mark.parametrize("test", ["kolari-pynnonen", "portfolio", "corrado-rank"])
def test_robust_tests_hold_size_under_cross_correlation(null_correlated, test):
    assert null_correlated[test] <= 0.11


@pytest.mark.parametrize("test", ["csect-t", "patell", "bmp", "generalized-sign"])
def test_naive_tests_over_reject_under_cross_correlation(null_correlated, test):
    """ρ = 0.3, N = 30: METHODS.md reports far above 5 % (tens of per cent)."""
    assert null_correlated[test] >= 0.25


def test_result_accessors_and_summary():
    returns, regressors, events = synthetic_panel(n_firms=8, injected=-0.05, seed=2, sigma=0.01)
    res = run_event_study(returns, regressors, events, **SHORT, tests=["kolari-pynnonen", "portfolio"])
    row = res.test("all", "[0,0]", "portfolio")
    assert row.p < 0.001 and row.n_firms == 8
    with pytest.raises(KeyError, match="no 'patell' result"):
        res.test("all", "[0,0]", "patell")
    with pytest.raises(ValueError, match="unknown test"):
        run_event_study(returns, regressors, events, tests=["t-test"])
    assert "Group tests, [0,0]" in res.summary() and "F003" in str(res)


def test_caar_path_and_band_agree_with_the_ars_and_the_portfolio_test():
    returns, regressors, events = synthetic_panel(n_firms=10, injected=-0.03, seed=8)
    res = run_event_study(returns, regressors, events, **SHORT)
    path = res.caar[res.caar.group == "all"].set_index("day")
    aar = res.ar.groupby("day").ar.mean()
    np.testing.assert_allclose(path.caar, aar.cumsum().loc[path.index], atol=1e-15)
    # the portfolio test on [0,0] is AAR_0 / σ̂_p, and the band's s.e. is σ̂_p·√(days since the path start)
    sigma_p = path.aar.loc[0] / res.test("all", "[0,0]", "portfolio").stat
    assert path.se.loc[0] == pytest.approx(sigma_p * np.sqrt(0 - SHORT["path"].start + 1))


def _correlated(rho, n=300, d=240, missing=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sqrt(rho) * rng.normal(size=d) + np.sqrt(1 - rho) * rng.normal(size=(n, d))
    x[rng.random(x.shape) < missing] = np.nan
    return x


def test_the_identity_rbar_is_the_pairwise_rbar_on_complete_data():
    x = _correlated(0.3, n=50)
    assert rbar.identity_rbar(x) == pytest.approx(rbar.mean_residual_correlation(x), abs=1e-12)


@pytest.mark.parametrize("rho", [0.0, 0.1, 0.3, 0.6])
@pytest.mark.parametrize("missing", [0.001, 0.05, 0.2])
def test_the_identity_rbar_stays_close_to_the_pairwise_rbar_with_missing_days(rho, missing):
    x = _correlated(rho, missing=missing, seed=int(100 * rho + 1000 * missing))
    exact, fast = rbar.mean_residual_correlation(x), rbar.identity_rbar(x)
    assert abs(fast - exact) < 2e-3, (exact, fast)
    # the naive identity (missing days as zero, no correction) would be off by about rho * missing
    valid = np.isfinite(x)
    z = np.where(valid, x - np.nanmean(x, axis=1, keepdims=True), 0.0)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    naive = (z.sum(axis=0) @ z.sum(axis=0) - len(x)) / (len(x) * (len(x) - 1))
    if rho >= 0.3 and missing >= 0.05:
        assert abs(naive - exact) > 5 * abs(fast - exact)


def test_a_firm_with_a_long_gap_does_not_bias_the_identity_rbar():
    x = _correlated(0.3)
    x[:30, :120] = np.nan  # a tenth of the firms lack half the days
    assert rbar.identity_rbar(x) == pytest.approx(rbar.mean_residual_correlation(x), abs=2e-3)


@pytest.mark.parametrize("reverse", [False, True])
def test_the_identity_rbar_is_not_biased_when_missing_days_go_with_correlation(reverse):
    """Half of the firms liquid (0.5 % of days missing, ρ = 0.45 with a common factor), half
    illiquid (20 %, ρ = 0.15), and the pattern reversed: weighting the pairs by their share of
    common days would tilt r̄ toward the liquid pairs (0.2927 and 0.2759 against 0.2844 here);
    the identity by coverage stratum keeps the unweighted mean."""
    n, d = 3000, 240
    rng = np.random.default_rng(0)
    rho = np.r_[np.full(n // 2, 0.45), np.full(n // 2, 0.15)]
    missing = np.r_[np.full(n // 2, 0.005), np.full(n // 2, 0.20)]
    missing = missing[::-1] if reverse else missing
    x = np.sqrt(rho)[:, None] * rng.normal(size=d) + np.sqrt(1 - rho)[:, None] * rng.normal(size=(n, d))
    x[rng.random((n, d)) < missing[:, None]] = np.nan
    exact = rbar.mean_residual_correlation(x)
    assert rbar.identity_rbar(x) == pytest.approx(exact, abs=5e-4)
    z, w = rbar._zero_filled(x)  # the identity without strata, for comparison
    plain = (z.sum(0) @ z.sum(0) - n) / (w.sum(0) @ w.sum(0) - n)
    assert abs(plain - exact) > 5e-3


def test_group_rbar_is_exact_for_small_or_complete_groups_and_says_when_it_is_not(monkeypatch):
    x = _correlated(0.2, n=40, missing=0.01)
    assert rbar.group_rbar(x) == (rbar.mean_residual_correlation(x), "")
    monkeypatch.setattr(rbar, "PAIRWISE_MAX", 10)
    value, how = rbar.group_rbar(x)
    assert how == "sum identity over common days, by coverage stratum" and value == rbar.identity_rbar(x)
    complete = _correlated(0.2, n=40)
    assert rbar.group_rbar(complete) == (rbar.mean_residual_correlation(complete), "")


def _twelve_firms(seed: int, sessions: int, shared: float):
    """Sessions, a market return and twelve firms' returns: the market, a shock all share with
    weight ``shared`` (correlated residuals) and their own noise."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2021-01-01", periods=sessions)
    mkt = pd.Series(rng.normal(0, 0.01, sessions), days)
    common = shared * rng.normal(0, 0.01, (sessions, 1))
    r = pd.DataFrame(mkt.to_numpy()[:, None] + common + rng.normal(0, 0.01, (sessions, 12)), days)
    r.columns = [f"F{i}" for i in range(12)]
    return days, mkt, r


def test_rbar_is_one_per_group_whatever_window_a_firm_lacks_a_return_in(monkeypatch):
    from eventstudy.core.engine import firm_events

    days, mkt, r = _twelve_firms(seed=5, sessions=300, shared=0.5)
    event = days[280]
    r.iloc[281, 0] = np.nan  # F0 has no CAR over [-1,+1], one over [0,0]
    res = run_event_study(r, mkt, firm_events(list(r), event), estimation=(-200, -11), windows=[(0, 0), (-1, 1)])
    kp = res.tests[res.tests.test == "kolari-pynnonen"].set_index("window")
    assert kp.n_firms.to_dict() == {"[0,0]": 12, "[-1,+1]": 11}
    assert kp.detail["[0,0]"] == kp.detail["[-1,+1]"]  # the group's r̄, not one per window's firms
    monkeypatch.setattr(rbar, "PAIRWISE_MAX", 5)  # a large group with a gap: the identity, and said
    r.iloc[100, 3] = np.nan
    big = run_event_study(r, mkt, firm_events(list(r), event), estimation=(-200, -11), windows=[(0, 0)])
    assert (
        "(sum identity over common days, by coverage stratum)"
        in big.tests[big.tests.test == "kolari-pynnonen"].detail.iloc[0]
    )


@pytest.mark.parametrize("rho, missing", [(0.3, 0.01), (0.5, 0.2), (0.0, 0.05)])
def test_overlap_sums_by_the_identity_agree_with_the_pairs_one_by_one(monkeypatch, rho, missing):
    rng = np.random.default_rng(3)
    n, length, span = 800, 240, 11
    positions = rng.integers(0, 40, n)
    common = rng.normal(size=40 + length)
    ar = np.vstack(
        [np.sqrt(rho) * common[p : p + length] + np.sqrt(1 - rho) * rng.normal(size=length) for p in positions]
    )
    ar[rng.random(ar.shape) < missing] = np.nan
    est = np.ones(ar.shape, bool)
    exact = rbar.overlap_sums(ar, est, positions, span)
    monkeypatch.setattr(rbar, "PAIRWISE_MAX_PAIRS", 0)
    fast = rbar.overlap_sums(ar, est, positions, span)
    assert rbar.overlap_rbar(fast, n, span) == pytest.approx(rbar.overlap_rbar(exact, n, span), abs=1e-3)
    assert np.abs(fast - exact).max() < 0.02 * max(1.0, np.abs(exact).max())  # every distance, not only the mean


def test_rbar_eff_of_events_on_different_dates_is_one_per_group_too():
    from eventstudy.core.engine import firm_events

    days, mkt, r = _twelve_firms(seed=8, sessions=320, shared=0.6)
    events = pd.concat([firm_events(list(r)[:6], days[280]), firm_events(list(r)[6:], days[281])], ignore_index=True)

    def kp(returns):
        res = run_event_study(returns, mkt, events, estimation=(-200, -11), windows=[(0, 0), (-1, 1)], path=(-3, 3))
        return res.tests[res.tests.test == "kolari-pynnonen"].set_index("window")

    whole = kp(r)
    gap = r.copy()
    gap.iloc[281, 0] = np.nan  # F0 has no CAR over [-1,+1]; its estimation residuals are unchanged
    holed = kp(gap)
    assert holed.n_firms.to_dict() == {"[0,0]": 12, "[-1,+1]": 11}
    assert holed.detail.to_dict() == whole.detail.to_dict()  # the group's r̄_eff, whichever firms have a CAR
    assert holed.detail["[0,0]"] != holed.detail["[-1,+1]"]  # weighted for each window's length


def test_r_bar_eff_by_the_identity_is_labelled(monkeypatch):
    """Past the pairs correlated one by one, a sample's r̄_eff comes from the identity: the
    tests table says so (it printed a plain r̄_eff before)."""
    days, mkt, r = _twelve_firms(seed=7, sessions=300, shared=0.4)
    r.iloc[100, 2] = np.nan
    events = pd.DataFrame(
        {"event_id": list(r), "ticker": list(r), "event_date": days[[270 + i % 5 for i in range(12)]]}
    )
    exact = run_event_study(r, mkt, events, estimation=(-200, -11), windows=[(0, 0)])
    detail = exact.test("all", "[0,0]", "kolari-pynnonen").detail
    assert detail.startswith("r̄_eff = ") and "identity" not in detail
    monkeypatch.setattr(rbar, "PAIRWISE_MAX_PAIRS", 0)
    fast = run_event_study(r, mkt, events, estimation=(-200, -11), windows=[(0, 0)])
    assert fast.test("all", "[0,0]", "kolari-pynnonen").detail.endswith("(sum identity over common days)")


def test_p_values_and_quantiles_equal_scipy_distributions_to_the_bit():
    """The fast two-sided p-values and t quantile give scipy.stats' numbers bit for bit, NaN,
    infinities and degenerate degrees of freedom included (they are the same special functions)."""
    x = np.r_[np.abs(np.random.default_rng(3).standard_normal(2000)) * 6, 0.0, np.inf, np.nan]
    for df in (1, 2, 7, 238, 10**6, 0, np.nan):
        np.testing.assert_array_equal(statistic.t_two_sided(x, df), 2 * stats.t.sf(np.abs(x), df))
        q = np.r_[np.linspace(0.001, 0.999, 50), np.nan]
        np.testing.assert_array_equal(statistic.t_quantile(q, df), stats.t.ppf(q, df))
    np.testing.assert_array_equal(statistic.z_two_sided(-x), 2 * stats.norm.sf(np.abs(x)))
    for dfn, dfd in ((1, 1), (3, 238), (20, 7), (5, 0), (0, 5), (2, np.nan)):
        np.testing.assert_array_equal(statistic.f_upper(x, dfn, dfd), stats.f.sf(x, dfn, dfd))
    assert statistic.t_result("t", -2.0, 10, 11).pvalue == pytest.approx(0.0733880347707, abs=1e-12)  # tables: 0.0734
