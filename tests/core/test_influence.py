"""Influence: leave-one-out effects against hand-worked values (METHODS.md §7), statsmodels'
OLSInfluence and refits without the event, and the rule that names an event that drives an
estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from eventstudy.core.engine import run_event_study
from eventstudy.core.influence import caar_influence, candidates, drives, mean_influence, regression_influence
from eventstudy.core.results import CarTable
from eventstudy.study.secondstage import second_stage
from tests.conftest import synthetic_panel


def test_the_mean_by_hand():
    """CAR = (1, 2, 3, 10): CAAR 4, without the last 2; D = (0.24, 0.106667, 0.026667, 0.96);
    DFBETAS of the last 4.0 (METHODS.md §7, worked by hand)."""
    d = mean_influence(np.array([1.0, 2.0, 3.0, 10.0]))
    np.testing.assert_allclose(d["caar_without"], [5, 14 / 3, 13 / 3, 2])
    np.testing.assert_allclose(d["cooks_d"], [0.24, 0.32 / 3, 0.08 / 3, 0.96], rtol=1e-12)
    assert d["dfbetas"][3] == pytest.approx(4.0)
    assert d["se"][0] == pytest.approx(np.std([1, 2, 3, 10], ddof=1) / 2)


def test_the_mean_against_statsmodels():
    car = np.random.default_rng(3).normal(0.01, 0.03, 25)
    infl = sm.OLS(car, np.ones((25, 1))).fit().get_influence()
    d = mean_influence(car)
    np.testing.assert_allclose(d["cooks_d"], infl.cooks_distance[0], rtol=1e-10)
    np.testing.assert_allclose(d["dfbetas"], infl.dfbetas[:, 0], rtol=1e-10)
    np.testing.assert_allclose(d["caar_without"], infl.params_not_obsi[:, 0], rtol=1e-12)


def test_regression_leave_one_out_equals_refits():
    rng = np.random.default_rng(5)
    x = sm.add_constant(rng.normal(size=(30, 2)))
    y = x @ [0.1, 1.0, -0.5] + rng.normal(0, 0.3, 30)
    labels = pd.Index([f"e{i}" for i in range(30)])
    one = regression_influence(y, x, labels)
    for i in (0, 7, 29):
        keep = np.arange(30) != i
        np.testing.assert_allclose(one.without[i], sm.OLS(y[keep], x[keep]).fit().params, rtol=1e-10)
    np.testing.assert_allclose(one.cooks_d, sm.OLS(y, x).fit().get_influence().cooks_distance[0], rtol=1e-10)
    groups = np.repeat(np.arange(10), 3)
    by = regression_influence(y, x, labels, groups)
    for g in (0, 4, 9):
        keep = groups != g
        np.testing.assert_allclose(by.without[g], sm.OLS(y[keep], x[keep]).fit().params, rtol=1e-10)
    assert list(by.units[:2]) == ["e0", "e3"]


def test_the_rule():
    # size: moves by more than the standard error; sign: only of a significant estimate
    assert drives(0.02, [0.005], 0.01, 0.2, [np.nan]).all()
    assert not drives(0.001, [-0.001], 0.01, 0.9, [np.nan]).any()  # an insignificant sign is no finding
    assert drives(0.001, [-0.001], 0.0001, 0.01, [np.nan]).all()
    assert drives(0.02, [0.019], 0.01, 0.04, [0.06]).all()  # the p crosses 5 %
    assert not drives(0.02, [0.019], 0.01, 0.04, [0.045]).any()


def test_an_injected_outlier_is_named_and_its_p_recomputed_exactly():
    """Nineteen firms fall 3 % and one rises 60 %: the CAAR is near zero and insignificant with
    it, clearly negative without it; the p without it is the core's own test on the other
    nineteen."""
    returns, regressors, events = synthetic_panel(n_firms=20, seed=4)
    day0 = events.event_date.iloc[0]
    returns.loc[day0] -= 0.03
    returns.loc[day0, "F007"] += 0.70
    res = run_event_study(returns, regressors, events, windows=[(0, 0)])
    infl = res.influence.set_index("event_id")
    row = infl.loc["F007"]
    assert row.p > 0.05 > row.p_without and row.caar > 0 > row.caar_without, row
    assert row.drives and row.caar_without == pytest.approx(res.car_of("[0,0]").drop("F007").car.mean())
    assert not infl.drop("F007").drives.any()
    others = [t for t in events.ticker if t != "F007"]
    alone = run_event_study(returns, regressors, events, windows=[(0, 0)], groups={"all": others})
    assert row.p_without == pytest.approx(alone.test("all", "[0,0]", "kolari-pynnonen").p, rel=1e-12)
    assert row.p == pytest.approx(res.test("all", "[0,0]", "kolari-pynnonen").p)
    # the chunked engine gives the same diagnostics, without recomputing the test
    streamed = run_event_study(returns, regressors, events, windows=[(0, 0)], engine="stream")
    got = streamed.influence.set_index("event_id")
    np.testing.assert_allclose(got.cooks_d, infl.cooks_d, rtol=1e-9)
    assert got.p_without.isna().all()  # the chunked engines do not recompute the test


def test_influence_frame_from_frames_by_hand():
    car = pd.DataFrame(
        {"event_id": list("abcd"), "ticker": list("abcd"), "window": "[0,0]", "car": [1.0, 2.0, 3.0, 10.0]}
    )
    tests = pd.DataFrame({"group": ["all"], "window": ["[0,0]"], "test": ["kp"], "p": [0.2]})
    table = CarTable.of(car, ("car",), {"all": ("a", "b", "c", "d")})
    out = caar_influence(table, tests, "kp").set_index("event_id")
    # Δ = 2 is less than the CAAR's standard error 2.04, and the p without d is not known
    assert out.caar_without["d"] == pytest.approx(2.0) and not out.drives.any()
    assert out.delta["d"] == pytest.approx(2.0) and out.se["d"] == pytest.approx(np.std([1, 2, 3, 10], ddof=1) / 2)
    asked = []

    def recompute(group, event):
        asked.append(event)
        return {"[0,0]": 0.01}

    out = caar_influence(table, tests, "kp", recompute).set_index("event_id")
    assert asked == ["d"] and out.p_without["d"] == 0.01 and out.drives["d"]  # p crosses 5 % without d


@pytest.mark.parametrize("infer_string", [True, False])
def test_windows_labels_joined_are_the_column_pandas_makes_of_them(infer_string):
    """The influence table's window column: each window's repeated label, joined window after
    window, the values in order and the column's type pandas' for strings."""
    import warnings

    from eventstudy.core.influence import _joined
    from eventstudy.core.labels import tiled

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the option is deprecated in pandas 3
        with pd.option_context("future.infer_string", infer_string):
            want = pd.Series(["a", "a", "bc", "bc", "bc", "x"])
            joined = _joined([tiled(["a"], 2), tiled(["bc"], 3), pd.Index(["x"], dtype=want.dtype)])
    pd.testing.assert_series_equal(joined, want)


def test_car_table_places_rows_by_event_and_window_and_each_event_keeps_its_ticker():
    # rows out of order, an event without a row in one window, a window with two CARs only
    car = pd.DataFrame(
        {
            "event_id": ["b", "a", "b", "c", "a", "d", "c"],
            "ticker": ["B", "A", "B", "C", "A", "D", "C"],
            "window": ["w1", "w1", "w2", "w1", "w2", "w1", "w3"],
            "car": [2.0, 1.0, 20.0, 3.0, 10.0, 4.0, 30.0],
        }
    )
    table = CarTable.of(car, ("car",), {"all": ("a", "b", "c", "d", "x"), "two": ("d", "b")})
    assert list(table.event_ids) == list("bacd") and list(table.tickers) == list("BACD")
    assert list(table.windows) == ["w1", "w2", "w3"]
    np.testing.assert_array_equal(
        table.values["car"], [[2.0, 20.0, np.nan], [1.0, 10.0, np.nan], [3.0, np.nan, 30.0], [4.0, np.nan, np.nan]]
    )
    assert table.groups["all"].tolist() == [1, 0, 2, 3] and table.groups["two"].tolist() == [3, 0]  # x: no CAR
    tests = pd.DataFrame({"group": ["all"] * 3, "window": ["w1", "w2", "w3"], "test": ["kp"] * 3, "p": [0.5] * 3})
    out = caar_influence(table, tests, "kp")
    # only w1 has 3 CARs or more; its rows in the group's order, each with its own ticker and CAR
    assert out.window.tolist() == ["w1"] * 4 and out.event_id.tolist() == list("abcd")
    assert out.ticker.tolist() == list("ABCD") and out.car.tolist() == [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(out.caar_without, [3.0, 8 / 3, 7 / 3, 2.0])
    assert out.p_without.isna().all() and (out.p == 0.5).all() and set(out.group) == {"all"}


def test_the_second_stage_is_hc1_with_t_and_hc3_beside():
    rng = np.random.default_rng(1)
    ids = pd.Index([f"e{i}" for i in range(12)], name="event_id")
    z = pd.DataFrame({"size": rng.normal(size=12)}, index=ids)
    car = pd.Series(0.01 + 0.02 * z["size"] + rng.normal(0, 0.01, 12), index=ids)
    day = pd.Series(pd.bdate_range("2024-01-02", periods=12), index=ids)
    got = second_stage(car, z, day, "[0,0]", ["size"]).table.set_index("term")
    hc1 = sm.OLS(car, sm.add_constant(z)).fit(cov_type="HC1")
    t = hc1.params / hc1.bse
    np.testing.assert_allclose(got.p, 2 * stats.t.sf(np.abs(t), 12 - 2), rtol=1e-10)  # t(n − K), not normal
    hc3 = sm.OLS(car, sm.add_constant(z)).fit(cov_type="HC3")
    np.testing.assert_allclose(got.se_hc3, hc3.bse, rtol=1e-12)


def test_one_event_that_decides_a_slope_is_named():
    """A slope that only one extreme event makes: it is named, with the slope without it."""
    rng = np.random.default_rng(2)
    n = 40
    ids = pd.Index([f"e{i}" for i in range(n)], name="event_id")
    z = pd.DataFrame({"yld": rng.normal(0.01, 0.003, n)}, index=ids)
    car = pd.Series(rng.normal(0, 0.01, n) - z.yld, index=ids)
    z.loc["e0", "yld"], car["e0"] = 0.17, 0.5  # a special dividend with a huge CAR
    day = pd.Series(pd.bdate_range("2024-01-02", periods=n), index=ids)
    stage = second_stage(car, z, day, "[-1,+1]", ["yld"])
    lead = stage.drivers().set_index("left_out").loc["e0"]
    assert lead.term == "yld" and lead.coef > 0 > lead.coef_without
    keep = ids != "e0"
    want = sm.OLS(car[keep], sm.add_constant(z[keep])).fit()
    assert lead.coef_without == pytest.approx(want.params["yld"], rel=1e-10)


def test_candidates_are_the_stable_sorts_largest_and_the_flagged():
    """The largest |Δ| found without sorting everything: the same rows as the first ``top`` of a
    stable sort (ties to the earlier row, NaN last), with every flagged row, over many draws with ties."""
    rng = np.random.default_rng(1)
    for trial in range(3000):
        n, top = int(rng.integers(1, 30)), int(rng.integers(1, 5))
        delta = rng.integers(-4, 5, n).astype(float) * rng.choice([1.0, 0.5])
        if trial % 7 == 0:
            delta[rng.integers(0, n, rng.integers(1, 4))] = np.nan
        flagged = rng.random(n) < 0.1
        plain = np.union1d(np.argsort(-np.abs(delta), kind="stable")[:top], np.flatnonzero(flagged))
        np.testing.assert_array_equal(candidates(delta, flagged, top), plain)
