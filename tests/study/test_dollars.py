"""Dollar effects over multi-day windows and group totals, worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.core.windows import Window
from eventstudy.study.dollars import group_totals, window_effects

DAYS = pd.bdate_range("2025-01-06", periods=4)  # event at position 2: days -2, -1, 0, +1
MV = pd.DataFrame({"A": [100.0, 110.0, 99.0, 108.9], "B": [50.0, 50.0, np.nan, 55.0]}, index=DAYS)
RET = pd.DataFrame({"A": [np.nan, 0.10, -0.10, 0.10], "B": [np.nan, 0.0, np.nan, 0.0]}, index=DAYS)
AR = pd.DataFrame({"A": [0.0, 0.05, -0.08, 0.02], "B": [0.0, 0.01, np.nan, 0.03]}, index=DAYS)


@pytest.fixture()
def effects():
    return window_effects(MV, RET, AR, DAYS, 2, (Window(0, 0), Window(0, 1))).set_index(["firm", "window"])


def test_raw_and_abnormal_change_over_two_days(effects):
    a = effects.loc[("A", "[0,+1]")]
    assert a.mv_raw == pytest.approx(108.9 - 110.0)  # MV at +1 minus MV at −1
    assert a.mv_abnormal == pytest.approx(110.0 * -0.08 + 99.0 * 0.02)  # Σ MV_{τ−1}·AR_τ
    assert a.ret == pytest.approx(0.9 * 1.1 - 1)  # compounded
    assert a.car == pytest.approx(-0.06)


def test_a_missing_day_leaves_no_number(effects):
    b = effects.loc[("B", "[0,+1]")]
    assert np.isnan(b.car) and np.isnan(b.ret)


def test_group_totals_count_flags_and_name_firms_without_value(effects):
    shares = pd.DataFrame(
        {
            "firm": ["A", "B"],
            "flag": ["filed", "implied, 2026"],
            "price_basis": ["traded close", "adjusted close (understates by dividends since)"],
        }
    )
    totals = group_totals(effects.reset_index(), {"g": ("A", "B")}, shares).set_index("window")
    day0 = totals.loc["[0,0]"]
    assert day0.mv_raw == pytest.approx(99.0 - 110.0) and day0.n_firms == 1 and day0.no_value == "B"
    assert (day0.filed, day0.implied_2026, day0.adj_close_priced) == (1, 0, 0)
    two = totals.loc["[0,+1]"]
    assert two.mv_raw == pytest.approx((108.9 - 110.0) + (55.0 - 50.0)) and two.n_firms == 2
    assert (two.filed, two.implied_2026, two.adj_close_priced) == (1, 1, 1)


def test_firms_share_of_the_valued_market_by_hand():
    from eventstudy.study.pipeline import _firms_share

    mv = pd.DataFrame({"A": [100.0, 110.0], "B": [50.0, 30.0], "C": [np.nan, 60.0]}, index=DAYS[:2])
    assert _firms_share(mv, ["A"], DAYS[1]) == pytest.approx(110.0 / 200.0)
    assert np.isnan(_firms_share(mv, ["A", "B"], DAYS[0]))  # the firms are every stock valued that day
