"""Constructed benchmark indices, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.study.benchmarks import benchmark_returns, constructed_index
from eventstudy.study.spec import BenchmarkSpec

DAYS = pd.bdate_range("2025-01-06", periods=3)
RET = pd.DataFrame({"A": [0.0, 0.01, -0.02], "B": [0.0, 0.03, 0.01], "C": [0.0, -0.01, 0.04]}, index=DAYS)
MV = pd.DataFrame({"A": [100.0, 101.0, 99.0], "B": [300.0, 309.0, 312.0], "C": [600.0, 594.0, 618.0]}, index=DAYS)


def test_value_weighted_by_hand():
    ret, n = constructed_index(RET, MV, ["A", "B", "C"])
    day1 = (100 * 0.01 + 300 * 0.03 + 600 * -0.01) / 1000
    day2 = (101 * -0.02 + 309 * 0.01 + 594 * 0.04) / (101 + 309 + 594)
    assert ret.iloc[1] == pytest.approx(day1) and ret.iloc[2] == pytest.approx(day2)
    assert np.isnan(ret.iloc[0]) and list(n) == [0, 3, 3]  # no previous-day weight on the first day


def test_equal_weighted():
    ret, _ = constructed_index(RET, None, ["A", "B", "C"])
    assert ret.iloc[1] == pytest.approx((0.01 + 0.03 - 0.01) / 3)


def test_zero_weight_changes_nothing():
    with_zero = constructed_index(RET.assign(D=0.5), MV.assign(D=0.0), ["A", "B", "C", "D"])[0]
    pd.testing.assert_series_equal(with_zero, constructed_index(RET, MV, ["A", "B", "C"])[0])


def test_index_of_one_firm_is_that_firm():
    ret, _ = constructed_index(RET, MV, ["B"])
    pd.testing.assert_series_equal(ret.iloc[1:], RET.B.iloc[1:], check_names=False)


def test_missing_return_reweights_the_rest():
    r = RET.copy()
    r.loc[DAYS[1], "C"] = np.nan
    ret, n = constructed_index(r, MV, ["A", "B", "C"])
    assert ret.iloc[1] == pytest.approx((100 * 0.01 + 300 * 0.03) / 400) and n.iloc[1] == 2


COMPANIES = pd.DataFrame(
    {
        "ticker": ["A", "B", "C", "GOOG", "GOOGL", "SPY"],
        "asset_type": ["stock"] * 5 + ["etf"],
        "issuer": ["a", "b", "c", "g", "g", "s"],
    }
)


def _members(spec, ret, mv, groups):
    primary = {"GOOG": "GOOGL"}
    series, info = benchmark_returns(spec, ret, mv, groups, COMPANIES, primary)
    return len(info.members), series


def test_excluding_a_group_removes_exactly_its_members():
    spec = BenchmarkSpec("ex", weights="equal", exclude=("g1",))
    n, series = _members(spec, RET, MV, {"g1": ("B",)})
    assert n == 2 and series.iloc[1] == pytest.approx((0.01 - 0.01) / 2)


def test_etf_and_second_share_class_never_enter():
    ret = RET.assign(GOOG=0.5, GOOGL=0.02, SPY=0.9)
    n, series = _members(BenchmarkSpec("all", weights="equal"), ret, MV, {})
    assert n == 4  # A, B, C and Alphabet once (GOOGL); never SPY
    assert series.iloc[1] == pytest.approx((0.01 + 0.03 - 0.01 + 0.02) / 4)


def test_value_weights_leave_out_firms_without_a_share_count():
    spec = BenchmarkSpec("v", weights="value")
    _, info = benchmark_returns(spec, RET.assign(GOOGL=0.02), MV, {}, COMPANIES, {"GOOG": "GOOGL"})
    assert info.members == ("A", "B", "C") and info.no_weight == ("GOOGL",)  # returns, but no market value
