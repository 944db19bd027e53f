"""Dimson's (1979) lag-and-lead market model: its coefficients by hand from OLS, the exact case of
METHODS.md §4(c), the same numbers on every engine; idle sessions counted per firm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from eventstudy.core.engine import run_event_study
from eventstudy.core.models import get_model, with_shifted_market
from eventstudy.data.quality import price_flags

from ..helpers import synthetic_panel

KW = dict(windows=[(0, 0), (-1, 1)], estimation=(-250, -11), path=(-10, 10))


def _lagged(seed=4, n=6):
    returns, regressors, events = synthetic_panel(n, 300, seed=seed)
    returns = returns.add(0.5 * regressors.mkt.shift(1).fillna(0.0), axis=0)  # a slow firm: half its beta a day late
    return returns, regressors, events


def test_dimson_coefficients_are_ols_on_the_lagged_and_leading_market():
    returns, regressors, events = _lagged()
    res = run_event_study(returns, regressors, events, model="dimson", **KW)
    x = with_shifted_market(regressors, get_model("dimson"))[["mkt_lag1", "mkt", "mkt_lead1"]]
    day0 = returns.index.get_loc(events.event_date.iloc[0])
    est = slice(day0 - 250, day0 - 10)
    for row in res.events.itertuples():
        y, xe = returns[row.ticker].iloc[est], sm.add_constant(x.iloc[est])
        fit = sm.OLS(y, xe, missing="drop").fit()
        np.testing.assert_allclose([row.alpha, row.mkt_lag1, row.beta, row.mkt_lead1], fit.params, rtol=1e-9)
        assert row.sigma == pytest.approx(np.sqrt(fit.scale), rel=1e-9) and row.n_est == fit.nobs
        # the AR of day 0 predicts with the whole fitted row, leads and lags included
        pred = fit.params @ np.r_[1.0, x.iloc[day0].to_numpy()]
        ar0 = res.ar[(res.ar.ticker == row.ticker) & (res.ar.day == 0)].ar.iloc[0]
        assert ar0 == pytest.approx(returns[row.ticker].iloc[day0] - pred, abs=1e-12)


def test_dimson_exact_case_sums_to_the_true_beta():
    """METHODS.md §4(c): R = 0.5 R_m,t + 0.5 R_m,t−1 → β = (0.5 lag, 0.5, 0 lead), β_D = 1, exactly:
    the noise added is orthogonal to the regressors over the estimation window, so OLS returns
    the true coefficients while the residuals keep a variance (without any noise the fit is
    perfect, σ̂ = 0, and the firm is excluded: test_inputs)."""
    returns, regressors, events = synthetic_panel(1, 300, seed=2)
    m = regressors.mkt
    x = with_shifted_market(regressors, get_model("dimson"))[["mkt_lag1", "mkt", "mkt_lead1"]]
    day0 = returns.index.get_loc(events.event_date.iloc[0])
    est = slice(day0 - 250, day0 - 10)
    xe = sm.add_constant(x.iloc[est]).to_numpy()
    u = np.random.default_rng(3).normal(0, 0.01, len(xe))
    noise = pd.Series(0.0, index=returns.index)
    noise.iloc[est] = u - xe @ np.linalg.lstsq(xe, u, rcond=None)[0]  # orthogonal to [1, lag, mkt, lead]
    returns = pd.DataFrame({returns.columns[0]: 0.5 * m + 0.5 * m.shift(1) + noise}, index=returns.index)
    ev = run_event_study(returns, regressors, events, model="dimson", **KW).events.iloc[0]
    np.testing.assert_allclose([ev.alpha, ev.mkt_lag1, ev.beta, ev.mkt_lead1], [0.0, 0.5, 0.5, 0.0], atol=1e-10)
    assert ev.mkt_lag1 + ev.beta + ev.mkt_lead1 == pytest.approx(1.0, abs=1e-10)


def test_dimson_on_the_streamed_engine_equals_in_memory():
    returns, regressors, events = _lagged(seed=7, n=25)
    a = run_event_study(returns, regressors, events, model="dimson", **KW)
    b = run_event_study(returns, regressors, events, model="dimson", engine="stream", chunk_size=7, **KW)
    np.testing.assert_allclose(b.car.car, a.car.car, rtol=1e-10)
    np.testing.assert_allclose(
        b.events[["mkt_lag1", "beta", "mkt_lead1"]], a.events[["mkt_lag1", "beta", "mkt_lead1"]], rtol=1e-10
    )


def test_idle_sessions_are_counted_per_firm_under_a_thin_trading_model():
    days = pd.bdate_range("2024-01-01", periods=20)
    frame = pd.DataFrame(
        {"open": 10.0, "high": 10.0, "low": 10.0, "close": 10.0, "adj_close": 10.0, "splits": 0.0, "volume": 1e5},
        index=days,
    )
    frame.loc[days[[3, 4, 9]], "volume"] = 0.0
    frame.loc[days[12], "close"] = np.nan
    flags = price_flags({"THIN": frame, "BUSY": frame.assign(volume=1e5, close=10.0)}, days, 5, count_idle=True)
    idle = flags[flags.kind == "non_trading_days"]
    assert list(idle.ticker) == ["THIN"]  # a firm that trades every session has no row
    assert idle.detail.iloc[0] == "4 of 20 sessions without a trade (zero volume or no price)"
    assert (idle["first"].iloc[0], idle["last"].iloc[0]) == (days[3], days[12])
    assert not (price_flags({"THIN": frame}, days, 5).kind == "non_trading_days").any()


def test_scholes_williams_beta_by_hand_from_three_simple_regressions():
    returns, regressors, events = _lagged(seed=11, n=3)
    res = run_event_study(returns, regressors, events, model="scholes-williams", **KW)
    m = regressors.mkt
    day0 = returns.index.get_loc(events.event_date.iloc[0])
    est = np.arange(day0 - 250, day0 - 10)[1:-1]  # the L − 2 sessions with both neighbours in the window
    for row in res.events.itertuples():
        y = returns[row.ticker].to_numpy()
        lag, now, lead = m.to_numpy()[est - 1], m.to_numpy()[est], m.to_numpy()[est + 1]
        slopes = [np.polyfit(v, y[est], 1)[0] for v in (lag, now, lead)]
        rho = np.corrcoef(now, lag)[0, 1]
        beta = sum(slopes) / (1 + 2 * rho)
        alpha = y[est].mean() - beta * now.mean()
        assert (row.beta, row.alpha, row.rho_m) == pytest.approx((beta, alpha, rho), rel=1e-9)
        resid = y[est] - alpha - beta * now
        assert row.sigma == pytest.approx(np.sqrt((resid**2).sum() / (len(est) - 2)), rel=1e-9)
        ar = res.ar[(res.ar.ticker == row.ticker) & (res.ar.day == 0)].iloc[0]
        assert ar.ar == pytest.approx(y[day0] - alpha - beta * m.iloc[day0], abs=1e-12)
        assert ar.se == pytest.approx(row.sigma)  # V = σ̂² I: no prediction-error term


def test_scholes_williams_recovers_a_beta_spread_over_two_sessions():
    """METHODS.md §4b: R = 0.5 R_m,t + 0.5 R_m,t−1 + noise: β_SW ≈ 1 where OLS gives ≈ 0.5."""
    returns, regressors, events = synthetic_panel(1, 5300, event_pos=5270, seed=3)
    m = regressors.mkt
    noise = np.random.default_rng(5).normal(0, 0.01, len(m))
    returns = pd.DataFrame({returns.columns[0]: 0.5 * m + 0.5 * m.shift(1) + noise}, index=returns.index)
    kw = dict(estimation=(-5250, -11), min_estimation_obs=100)
    sw = run_event_study(returns, regressors, events, model="scholes-williams", **kw).events.beta.iloc[0]
    ols = run_event_study(returns, regressors, events, **kw).events.beta.iloc[0]
    assert sw == pytest.approx(1.0, abs=0.05) and ols == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="runs on engine='memory'"):
        run_event_study(returns, regressors, events, model="scholes-williams", engine="stream", **kw)


def test_trade_to_trade_is_gls_on_spans_and_the_market_model_in_logs_when_every_session_trades():
    import statsmodels.api as sm

    from eventstudy.core.tradetotrade import spans

    returns, regressors, events = synthetic_panel(2, 300, seed=8)
    every = run_event_study(returns, regressors, events, model="trade-to-trade", **KW)
    logs = run_event_study(np.log1p(returns), np.log1p(regressors), events, **KW)
    np.testing.assert_allclose(every.car[["car", "se"]], logs.car[["car", "se"]], rtol=1e-10, atol=1e-15)
    # a firm idle on some sessions: its trade-to-trade returns are missing there, the next spans them
    idle = returns.copy()
    day0 = returns.index.get_loc(events.event_date.iloc[0])
    for t in (day0 - 200, day0 - 150, day0 - 149, day0 - 3):
        idle.iloc[t, 0] = np.nan
    res = run_event_study(idle, regressors, events, model="trade-to-trade", **KW)
    traded = np.isfinite(idle.iloc[:, 0].to_numpy())
    n = spans(traded[None, :])[0]
    r, rm = np.log1p(idle.iloc[:, 0].to_numpy()), np.log1p(regressors.mkt.to_numpy())
    rm_n = np.array([rm[t - int(k) + 1 : t + 1].sum() for t, k in enumerate(n)])
    est = np.arange(day0 - 250, day0 - 10)
    est = est[traded[est]]
    wls = sm.WLS(r[est], np.column_stack([n[est], rm_n[est]]), weights=1 / n[est]).fit()
    row = res.events.iloc[0]
    np.testing.assert_allclose([row.alpha, row.beta], wls.params, rtol=1e-9)
    ar = res.ar[(res.ar.ticker == returns.columns[0]) & (res.ar.day == -2)].iloc[0]  # spans the idle day −3
    assert n[day0 - 2] == 2
    assert ar.ar == pytest.approx(r[day0 - 2] - 2 * wls.params[0] - wls.params[1] * rm_n[day0 - 2], abs=1e-12)
    car = res.car[(res.car.ticker == returns.columns[0])].set_index("window")
    assert np.isfinite(car.car["[0,0]"])


def test_a_trade_to_trade_car_whose_first_return_leaks_into_the_window_is_left_out():
    returns, regressors, events = synthetic_panel(2, 300, seed=8)
    day0 = returns.index.get_loc(events.event_date.iloc[0])
    idle = returns.copy()
    idle.iloc[day0 - 1, 0] = np.nan  # no trade the session before day 0: day 0's return spans it
    res = run_event_study(idle, regressors, events, model="trade-to-trade", **KW)
    car = res.car[res.car.ticker == returns.columns[0]].set_index("window").car
    assert np.isnan(car["[0,0]"]) and np.isfinite(car["[-1,+1]"])


def test_trade_to_trade_returns_span_the_idle_sessions():
    from eventstudy.study.trading import trade_to_trade

    days = pd.bdate_range("2024-01-01", periods=5)
    frame = pd.DataFrame({"close": [10.0, 10.0, 10.0, 11.0, 11.0], "volume": [5.0, 0.0, 0.0, 5.0, 5.0]}, index=days)
    returns = pd.DataFrame({"X": [np.nan, 0.0, 0.01, 0.0891, 0.0], "SPY": 0.01}, index=days)
    out = trade_to_trade(returns, {"X": frame}, ["X"])
    assert np.isnan(out.X.iloc[1]) and np.isnan(out.X.iloc[2])
    assert out.X.iloc[3] == pytest.approx(1.0 * 1.01 * 1.0891 - 1)  # the idle sessions' returns compounded in
    assert (out.SPY == 0.01).all()
