"""The batched estimator against one statsmodels OLS per firm, to 1e-10."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from eventstudy.core.engine import run_event_study
from eventstudy.core.windows import Window

from ..helpers import synthetic_panel

EST, WIN = Window(-250, -11), Window(-1, 1)


def _per_firm(returns, regressors, event_pos, cols):
    """Reference: statsmodels OLS on each firm, the textbook prediction-error variance."""
    out = {}
    est = slice(event_pos - 250, event_pos - 10)
    win = slice(event_pos - 1, event_pos + 2)
    for t in returns.columns:
        y, x = returns[t].iloc[est], sm.add_constant(regressors[cols].iloc[est])
        ok = y.notna() & x.notna().all(axis=1)
        res = sm.OLS(y[ok], x[ok]).fit()
        xs = sm.add_constant(regressors[cols].iloc[win], has_constant="add")
        ar = returns[t].iloc[win] - res.predict(xs)
        xtx_inv = np.linalg.inv(x[ok].T @ x[ok])
        v = res.scale * (np.eye(3) + xs.values @ xtx_inv @ xs.values.T)
        car, var = ar.sum(), v.sum()
        out[t] = dict(
            params=res.params.values,
            sigma=np.sqrt(res.scale),
            ar=ar.values,
            car=car,
            se=np.sqrt(var),
            t=car / np.sqrt(var),
            p=2 * stats.t.sf(abs(car / np.sqrt(var)), res.df_resid),
            n=int(ok.sum()),
        )
    return out


@pytest.fixture(scope="module", params=["market", "ff3"], ids=["market-model", "fama-french-3"])
def both(request):
    returns, regressors, events = synthetic_panel(n_firms=12, seed=3)
    rng = np.random.default_rng(9)
    returns.iloc[rng.integers(20, 250, 15), rng.integers(0, 12, 15)] = np.nan  # missing days differ by firm
    if request.param == "ff3":
        regressors = regressors.assign(
            mkt_rf=regressors.mkt - 0.0001,
            smb=rng.normal(0, 0.005, len(regressors)),
            hml=rng.normal(0, 0.005, len(regressors)),
            rf=0.0001,
        )
        ref_returns, cols = returns.sub(regressors.rf, axis=0), ["mkt_rf", "smb", "hml"]
    else:
        ref_returns, cols = returns, ["mkt"]
    res = run_event_study(returns, regressors, events, model=request.param, windows=[WIN])
    return res, _per_firm(ref_returns, regressors, 270, cols)


def test_parameters_match(both):
    res, ref = both
    for _, row in res.events.iterrows():
        got = row[
            [
                c
                for c in res.events.columns
                if c not in ("event_id", "ticker", "event_date", "n_est", "n_removed", "sigma")
            ]
        ]
        np.testing.assert_allclose(got.astype(float).values, ref[row.ticker]["params"], rtol=0, atol=1e-10)


def test_sigma_and_obs_match(both):
    res, ref = both
    for _, row in res.events.iterrows():
        assert row.n_est == ref[row.ticker]["n"]
        assert row.sigma == pytest.approx(ref[row.ticker]["sigma"], abs=1e-10)


@pytest.mark.parametrize("field", ["car", "se", "t", "p"])
def test_car_statistics_match(both, field):
    res, ref = both
    got = res.car_of(WIN.label)[field]
    want = pd.Series({t: r[field] for t, r in ref.items()})
    np.testing.assert_allclose(got.sort_index().values, want.sort_index().values, rtol=0, atol=1e-10)


def test_ars_match(both):
    res, ref = both
    ar = res.ar[res.ar.day.between(-1, 1)].pivot(index="ticker", columns="day", values="ar")
    for t, r in ref.items():
        np.testing.assert_allclose(ar.loc[t].values, r["ar"], rtol=0, atol=1e-10)


def test_market_model_variance_by_hand():
    """The scalar form σ²[1 + 1/L + (R_mτ − R̄_m)²/Σ(R_mt − R̄_m)²] for one day (CLM 1997 4.4.8)."""
    returns, regressors, events = synthetic_panel(n_firms=1, seed=5)
    res = run_event_study(returns, regressors, events, windows=[Window(0, 0)])
    m_est = regressors.mkt.iloc[20:260]
    m0 = regressors.mkt.iloc[270]
    sigma2 = res.events.sigma.iloc[0] ** 2
    by_hand = sigma2 * (1 + 1 / 240 + (m0 - m_est.mean()) ** 2 / ((m_est - m_est.mean()) ** 2).sum())
    assert res.car.se.iloc[0] ** 2 == pytest.approx(by_hand, rel=1e-12)
    assert res.car.se.iloc[0] ** 2 > sigma2  # the prediction error is not L·σ² nor σ²


def test_car_over_one_day_equals_ar_with_same_variance(panel):
    returns, regressors, events = panel
    res = run_event_study(returns, regressors, events, windows=[Window(0, 0)])
    day0 = res.ar[res.ar.day == 0].set_index("ticker")
    car = res.car_of("[0,0]")
    np.testing.assert_allclose(car.car, day0.ar.loc[car.index], atol=1e-15)
    np.testing.assert_allclose(car.se, day0.se.loc[car.index], atol=1e-15)


def test_fitting_together_equals_fitting_alone(panel):
    returns, regressors, events = panel
    together = run_event_study(returns, regressors, events).car
    alone = run_event_study(returns[["F007"]], regressors, events[events.ticker == "F007"]).car
    pd.testing.assert_frame_equal(together[together.ticker == "F007"].reset_index(drop=True), alone)


def test_group_tests_equal_a_run_on_the_group_alone(panel):
    """Ranks, r̄ and daily means are computed once for all firm-events and sliced per group:
    a group's statistics equal those of a study of that group alone."""
    returns, regressors, events = panel
    ids = list(events.event_id[::3])
    both = run_event_study(returns, regressors, events, groups={"all": list(events.event_id), "sub": ids})
    alone = run_event_study(returns[ids], regressors, events[events.event_id.isin(ids)])
    cols = ["window", "test", "stat", "p", "n_firms"]
    got = both.tests[both.tests.group == "sub"][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, alone.tests[cols].reset_index(drop=True), rtol=1e-12)
    assert not np.allclose(got.stat, both.tests[both.tests.group == "all"].stat)


def test_events_on_different_dates_equal_separate_runs():
    """Earnings-style samples: each firm-event has its own date. Per-firm results equal those
    of running each date alone, and group tests use every firm-event."""
    returns, regressors, _ = synthetic_panel(n_firms=6, seed=21)
    d1, d2 = returns.index[262], returns.index[275]
    events = pd.DataFrame(
        {"event_id": [f"e{i}" for i in range(6)], "ticker": returns.columns, "event_date": [d1, d2, d1, d2, d1, d2]}
    )
    together = run_event_study(returns, regressors, events, windows=[WIN])
    for date in (d1, d2):
        sub = events[events.event_date == date]
        alone = run_event_study(returns, regressors, sub, windows=[WIN])
        got = together.car.set_index("event_id").loc[list(sub.event_id), ["car", "se", "t", "p"]]
        pd.testing.assert_frame_equal(got, alone.car.set_index("event_id")[["car", "se", "t", "p"]])
    assert (together.tests.n_firms == 6).all()


def test_mean_correlation_on_calendar_days_when_dates_differ():
    """With different event dates, ρ_ij pairs residuals by calendar date, not by event time;
    r̄_eff weights it by the share of window sessions the two events have in common."""
    from eventstudy.core.inference import rank, rbar

    returns, regressors, _ = synthetic_panel(n_firms=2, seed=4, rho=0.6)
    d1, d2 = returns.index[262], returns.index[275]
    events = pd.DataFrame({"event_id": ["a", "b"], "ticker": returns.columns, "event_date": [d1, d2]})
    res = run_event_study(returns, regressors, events, windows=[WIN])
    resid = {}
    for e in ("a", "b"):
        row = res.events.set_index("event_id").loc[e]
        pos = returns.index.get_loc(row.event_date)
        span = returns.index[pos - 250 : pos - 10]
        resid[e] = returns.loc[span, row.ticker] - row.alpha - row.beta * regressors.mkt.loc[span]
    both = pd.DataFrame(resid).dropna()
    want = np.corrcoef(both.a, both.b)[0, 1]
    from eventstudy.core import abnormal, models
    from eventstudy.core.memory import _rows, _samples  # the samples the group tests use
    from eventstudy.core.windows import DEFAULT_PATH, align, event_grid

    grid = event_grid(EST, (WIN,), DEFAULT_PATH)
    al, _ = align(returns, regressors, events, estimation=EST, grid=grid)
    fit = models.fit(al, model=models.get_model("market"))
    ab = abnormal.compute(fit, al, (WIN,))
    sums = rbar.overlap_sums(ab.ar, ab.est_mask, al.positions, span=20)
    assert sums[13] == pytest.approx(want, abs=1e-10) and np.abs(np.delete(sums, 13)).max() < 1e-12
    assert rbar.mean_residual_correlation(both.T.to_numpy()) == pytest.approx(want, abs=1e-12)
    sample = _samples(al, ab, rank.standardized_ranks(ab.ar), _rows(al, ["a", "b"]))[0]
    assert sample.rbar == pytest.approx(0.0, abs=1e-12)  # windows 13 sessions apart never meet
    assert rbar.overlap_rbar(sums, 2, 20) == pytest.approx(want * 7 / 20, abs=1e-10)
