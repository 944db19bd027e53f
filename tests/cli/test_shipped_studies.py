"""The studies shipped beside deepseek-2025, checked against values worked independently: the
published closes, and abnormal returns from a hand OLS (statsmodels) on returns computed here
from the snapshot's raw files — not through the toolkit's returns, alignment or fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from eventstudy.study.pipeline import run_study

from ..helpers import REPO

SNAP = REPO / "eventstudy" / "data" / "snapshot"


def raw_returns(ticker: str) -> pd.Series:
    """(close_t + dividend_t) / close_{t−1} − 1 straight from the snapshot's parquet file."""
    f = pd.read_parquet(SNAP / "prices.parquet", filters=[("ticker", "==", ticker)]).set_index("date").sort_index()
    return ((f.close + f.dividends.fillna(0)) / f.close.shift(1) - 1).iloc[1:]


def hand_fit(y: pd.Series, x: pd.DataFrame, event: str, start: int = -250, end: int = -11):
    """OLS of y on [1, x] over sessions start..end relative to ``event`` (positions in x's
    dates, which are the NYSE sessions); returns the fit and day 0's x row."""
    days = x.index
    pos = days.get_loc(pd.Timestamp(event))
    est = days[pos + start : pos + end + 1]
    fit = sm.OLS(y.reindex(est), sm.add_constant(x.loc[est]), missing="drop").fit()
    return fit, x.loc[[days[pos]]]


def day0_t(fit, x0: pd.DataFrame, ar: float) -> float:
    """AR / σ̂ √(1 + x0 (X′X)⁻¹ x0′): the prediction-error t of one day."""
    xx = np.asarray(sm.add_constant(x0, has_constant="add"))
    var = fit.scale * (1 + xx @ fit.normalized_cov_params.to_numpy() @ xx.T)
    return float(ar / np.sqrt(var[0, 0]))


# --- tariff-pause-2025: a rise ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tariff():
    return run_study("tariff-pause-2025")


def test_tariff_day_is_9_april_and_the_sp500_rose_9_5_percent(tariff):
    assert str(tariff.event.date.date()) == "2025-04-09" and tariff.event.rolled_from is None
    # the published S&P 500 closes: 4,982.77 on 8 April, 5,456.90 on 9 April 2025
    assert tariff.indices.set_index("series").ret["^GSPC"] == pytest.approx(5456.90 / 4982.77 - 1, abs=1e-6)


def test_tariff_nvda_ar_equals_a_hand_market_model(tariff):
    spy, nvda = raw_returns("SPY"), raw_returns("NVDA")
    fit, x0 = hand_fit(nvda, spy.to_frame("mkt"), "2025-04-09")
    ar = nvda["2025-04-09"] - float(fit.predict(sm.add_constant(x0, has_constant="add")).iloc[0])
    car = tariff.main.car_of("[0,0]").loc["NVDA"]
    assert car.car == pytest.approx(ar, abs=1e-12)  # −9.9 %: NVDA rose less than β × SPY's +10.5 %
    assert car.t == pytest.approx(day0_t(fit, x0, ar), rel=1e-9)
    assert tariff.day0.loc["NVDA", "ret"] == pytest.approx(0.18722, abs=1e-5)


def test_tariff_claims_of_rises(tariff):
    verdicts = tariff.claims.set_index("id").verdict.to_dict()
    assert verdicts == {
        "nvda-up-18.7": "supported",  # +18.72 %
        "aapl-up-15": "supported",  # +15.33 %
        "tsla-up-22": "roughly right",  # +22.69 %: 0.69 points off
        "mag7-all-rose": "supported",
        "mag7-double-digit": "roughly right",  # GOOGL +9.7 %
        "mag7-added-1.8t": "roughly right",  # $1,848 bn: just above 1.02 × 1,800
        "mag7-fell-before": "supported",  # the window [-5,-1]: 2–8 April
        "nasdaq-up-12.16": "supported",  # an index series: +12.16 %
        "sp500-up-9.5": "supported",  # +9.52 %
    }
    ixic = tariff.day0.loc["^IXIC", "ret"] if "^IXIC" in tariff.day0.index else None
    assert ixic is None  # the firms' table holds firms only; index claims read the series
    # indices/IXIC.csv: close 2025-04-08 15267.91015625, 2025-04-09 17124.970703125
    assert tariff.indices.set_index("series").ret["^IXIC"] == pytest.approx(17124.970703125 / 15267.91015625 - 1)


def test_tariff_window_before_day0_compounds_the_selloff(tariff):
    eff = tariff.effects.set_index(["firm", "window"])
    r = raw_returns("AAPL").loc["2025-04-02":"2025-04-08"]  # sessions −5 .. −1
    assert len(r) == 5 and eff.loc[("AAPL", "[-5,-1]"), "ret"] == pytest.approx(np.prod(1 + r) - 1, abs=1e-12)


# --- buffett-2025: a weekend date, a factor model, one firm ------------------------------------


@pytest.fixture(scope="module")
def buffett():
    return run_study("buffett-2025")


def test_buffett_saturday_rolls_to_monday(buffett):
    assert buffett.event.rolled_from == pd.Timestamp("2025-05-03")
    assert buffett.event.date == pd.Timestamp("2025-05-05")
    assert any("2025-05-03 is not an NYSE session" in n for n in buffett.notes)


def test_buffett_carhart_ar_equals_a_hand_regression(buffett):
    factors = pd.read_parquet(SNAP / "tables" / "ff3.parquet").merge(pd.read_parquet(SNAP / "tables" / "mom.parquet"))
    factors = factors.set_index("date") / 100
    brk = raw_returns("BRK-B")
    x = factors.reindex(brk.index)[["mkt_rf", "smb", "hml", "mom"]]
    fit, x0 = hand_fit(brk - factors.rf.reindex(brk.index), x, "2025-05-05")
    expected = float(fit.predict(sm.add_constant(x0, has_constant="add")).iloc[0]) + factors.rf["2025-05-05"]
    ar = brk["2025-05-05"] - expected
    car = buffett.main.car_of("[0,0]").loc["BRK-B"]
    assert car.car == pytest.approx(ar, abs=1e-12)
    assert car.t == pytest.approx(day0_t(fit, x0, ar), rel=1e-9)
    assert car.dof == fit.df_resid


def test_buffett_claims_and_the_one_firm_group(buffett):
    verdicts = buffett.claims.set_index("id").verdict.to_dict()
    assert verdicts == {"brk-down-5": "supported", "brk-intraday": "supported", "holdings-fell": "contradicted"}
    kp = buffett.main.tests.set_index(["group", "window", "test"]).loc[("berkshire", "[0,0]", "kolari-pynnonen")]
    assert np.isnan(kp.stat) and kp.detail == "not computed: fewer than 2 firms"


def test_tests_table_details_are_what_the_tests_used(tariff):
    t = tariff.main.tests.set_index(["group", "window", "test"])
    kp, bmp = t.loc[("mag7", "[0,0]", "kolari-pynnonen")], t.loc[("mag7", "[0,0]", "bmp")]
    rbar = float(kp.detail.removeprefix("r̄ = "))
    n = kp.n_firms
    # KP = BMP · √((1 − r̄)/(1 + (N − 1) r̄)): the r̄ shown is the one the statistic used
    assert kp.stat == pytest.approx(bmp.stat * np.sqrt((1 - rbar) / (1 + (n - 1) * rbar)), rel=1e-4)
    # estimation [-250,-11] and path [-10,+10]: 261 days ranked, every one with an AR
    assert t.loc[("mag7", "[0,0]", "corrado-rank"), "detail"] == "ranks over 261 days (days -250..+10)"
