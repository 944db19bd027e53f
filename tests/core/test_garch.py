"""The GARCH(1,1) market model against ``arch`` directly (the parameters, and the variance
forecast that standardizes the ARs), a fit that is refused with its reason, the CAR variance by
hand, and the engines that cannot fit it firm by firm."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from threadpoolctl import threadpool_limits

from eventstudy.core.engine import run_event_study

from ..helpers import synthetic_panel

KW = dict(estimation=(-250, -11), windows=[(0, 0), (0, 4)], path=(-10, 10))


def _garch_panel(n=4, seed=0):
    """Market-model returns whose errors follow a GARCH(1,1) (ω = 2e-5, a = 0.1, b = 0.85)."""
    returns, regressors, events = synthetic_panel(n, 300, seed=seed)
    rng = np.random.default_rng(seed)
    eps = np.zeros((300, n))
    h = np.full(n, 2e-5 / (1 - 0.95))
    for t in range(1, 300):
        h = 2e-5 + 0.1 * eps[t - 1] ** 2 + 0.85 * h
        eps[t] = np.sqrt(h) * rng.normal(size=n)
    returns = pd.DataFrame(
        0.0005 + 1.2 * regressors.mkt.to_numpy()[:, None] + eps, index=returns.index, columns=returns.columns
    )
    return returns, regressors, events


def test_parameters_and_variance_forecast_equal_arch_directly():
    returns, regressors, events = _garch_panel()
    res = run_event_study(returns, regressors, events, model="garch", **KW)
    day0 = returns.index.get_loc(events.event_date.iloc[0])
    est = slice(day0 - 250, day0 - 10)
    for row in res.events.itertuples():
        y, x = 100 * returns[row.ticker].iloc[est].to_numpy(), 100 * regressors.mkt.iloc[est].to_numpy()
        # on one BLAS thread, as the engine fits: arch's optimizer ends elsewhere in the 7th digit
        # when its products' last bits differ (two threads against one here)
        with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
            warnings.simplefilter("ignore")
            fit = arch_model(y, x=x[:, None], mean="LS", vol="GARCH", p=1, q=1).fit(disp="off")
        assert row.alpha == pytest.approx(fit.params["Const"] / 100, rel=1e-9)
        assert row.beta == pytest.approx(fit.params["x0"], rel=1e-9)
        forecast = fit.forecast(horizon=15, reindex=False, x=np.zeros((1, 1, 15))).variance.to_numpy()[-1] / 1e4
        ar = res.ar[res.ar.ticker == row.ticker].set_index("day")
        # day 0 is 11 sessions after the last estimation day (−11): the 11th step of the forecast
        assert ar.se[0] ** 2 == pytest.approx(forecast[10], rel=1e-9)
        assert ar.se[4] ** 2 == pytest.approx(forecast[14], rel=1e-9)
        car = res.car[(res.car.ticker == row.ticker) & (res.car.window == "[0,+4]")].iloc[0]
        assert car.se**2 == pytest.approx(forecast[10:15].sum(), rel=1e-9)  # Σ ĥ: no parameter-uncertainty term


def test_a_fit_that_breaks_its_bounds_is_excluded_with_the_reason():
    returns, regressors, events = synthetic_panel(3, 300, seed=4)
    returns.iloc[:, 0] = 0.001  # no variance to model: the optimizer cannot fit it
    res = run_event_study(returns, regressors, events, model="garch", **KW)
    why = dict(zip(res.excluded.ticker, res.excluded.reason, strict=True))
    assert why[returns.columns[0]].startswith("the GARCH")
    assert returns.columns[0] not in set(res.events.ticker)


def test_the_streamed_engine_refuses_it():
    returns, regressors, events = synthetic_panel(3, 300)
    with pytest.raises(ValueError, match="runs on engine='memory'"):
        run_event_study(returns, regressors, events, model="garch", engine="stream", **KW)
