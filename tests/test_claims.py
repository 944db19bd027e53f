"""Wording rules at their boundaries (CLAIMS.md), independent of any data."""

from __future__ import annotations

import pytest

from eventstudy import claims


@pytest.mark.parametrize(
    "y, verdict",
    [
        (17.4, "supported"),
        (16.6, "supported"),
        (18.5, "roughly right"),
        (15.5, "roughly right"),
        (18.6, "understated"),
        (15.4, "overstated"),
    ],
)
def test_rounded_percent(y, verdict):
    assert claims.rounded_percent(17, y) == verdict


@pytest.mark.parametrize(
    "y, verdict",
    [
        (540, "supported"),
        (612, "supported"),
        (480, "roughly right"),
        (660, "roughly right"),
        (479, "overstated"),
        (661, "understated"),
    ],
)
def test_close_to(y, verdict):
    assert claims.close_to(600, y) == verdict


@pytest.mark.parametrize("y, verdict", [(1001, "supported"), (900, "roughly right"), (899, "overstated")])
def test_more_than(y, verdict):
    assert claims.more_than(1000, y) == verdict


def _m(per):
    return claims.Measurement(0.0, "t", per=per)


def test_double_digit_lists_the_exceptions():
    verdict, reason = claims.double_digit(None, _m({"A": 12.0, "B": 11.0, "C": 4.0}))
    assert verdict == "roughly right" and "C 4.0 %" in reason
    assert claims.double_digit(None, _m({"A": 12.0, "B": 10.0}))[0] == "supported"
    assert claims.double_digit(None, _m({"A": 12.0, "B": 9.0}))[0] == "overstated"


def test_all_fell():
    spec = type("S", (), {"window": ""})()
    verdict, reason = claims.all_fell(spec, claims.Measurement(1.5, "t", per={"A": 1.0, "B": 2.0}))
    assert verdict == "supported" and reason == "2 of 2 fell over day 0 (median -1.5 %); did not fall: none"
    verdict, reason = claims.all_fell(spec, _m({"A": 1.0, "B": -2.0, "C": 3.0}))
    assert verdict == "roughly right" and "did not fall: B +2.0 %" in reason
    assert claims.all_fell(spec, _m({"A": -1.0, "B": -2.0, "C": -3.0, "D": 1.0}))[0] == "contradicted"


def test_best_fitting_universe_is_named():
    spec = type("S", (), {"figure": 1000.0, "universes": ("a", "b"), "unit": "USD bn"})()
    verdict, reason = claims.RULES["close_to"](spec, claims.Measurement(1200, "t", per={"a": 500.0, "b": 950.0}))
    assert verdict == "supported" and reason.startswith("best fit b")
