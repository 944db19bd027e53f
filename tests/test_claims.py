"""Wording rules at their boundaries (CLAIMS.md), independent of any data."""

from __future__ import annotations

import pandas as pd
import pytest

from eventstudy import claims
from eventstudy.study import ClaimSpec


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


def _spec(**kw):
    base = dict(id="c", article="a", says="s", metric="universe_returns", rule="all_moved", universes=("u",))
    return ClaimSpec(**{**base, **kw})


def test_double_digit_lists_the_exceptions():
    spec = _spec(rule="double_digit")
    verdict, reason = claims.double_digit(spec, _m({"A": 12.0, "B": 11.0, "C": 4.0}))
    assert verdict == "roughly right" and "C -4.0 %" in reason and "lost ≥ 10 %" in reason
    assert claims.double_digit(spec, _m({"A": 12.0, "B": 10.0}))[0] == "supported"
    assert claims.double_digit(spec, _m({"A": 12.0, "B": 9.0}))[0] == "overstated"
    rise = _spec(rule="double_digit", direction="rise")
    verdict, reason = claims.double_digit(rise, _m({"A": 12.0, "B": 4.0}))
    assert verdict == "overstated" and "gained ≥ 10 %" in reason and "B +4.0 %" in reason


def test_all_moved_in_the_claimed_direction():
    spec = _spec()
    verdict, reason = claims.all_moved(spec, claims.Measurement(1.5, "t", per={"A": 1.0, "B": 2.0}))
    assert verdict == "supported" and reason == "2 of 2 fell over day 0 (median -1.5 %); did not: none"
    verdict, reason = claims.all_moved(spec, _m({"A": 1.0, "B": -2.0, "C": 3.0}))
    assert verdict == "roughly right" and "did not: B +2.0 %" in reason
    assert claims.all_moved(spec, _m({"A": -1.0, "B": -2.0, "C": -3.0, "D": 1.0}))[0] == "contradicted"
    verdict, reason = claims.all_moved(_spec(direction="rise"), claims.Measurement(3.0, "t", per={"A": 3.0}))
    assert verdict == "supported" and reason.startswith("1 of 1 rose") and "median +3.0 %" in reason


def test_best_fitting_universe_is_named_with_every_universe_of_its_verdict():
    spec = _spec(metric="total_mv_change", rule="close_to", figure=1000.0, universes=("a", "b", "c"))
    m = claims.Measurement(1200, "t", per={"a": 500.0, "b": 950.0, "c": 1010.0})
    verdict, reason = claims.RULES["close_to"].func(spec, m)
    assert verdict == "supported" and reason.startswith("supported for: b, c; best fit c at $1,010 bn")
    assert "the article's $1,000 bn" in reason


def test_a_move_the_other_way_contradicts_a_scalar_claim():
    spec = _spec(metric="close_move", rule="rounded_percent", figure=17.0, ticker="X", universes=())
    verdict, reason = claims.RULES["rounded_percent"].func(spec, claims.Measurement(-3.0, "t"))
    assert verdict == "contradicted" and "the article's 17 % fall" in reason


def _ctx(day0=None, windows=None, totals=None, groups=None, excluded=None):
    cols = ["firm", "window", "ret", "car", "mv_raw"]
    return claims.ClaimContext(
        pd.DataFrame(day0 or {}, index=pd.Index(list((day0 or {}).get("ret", {})), name="firm")),
        pd.DataFrame(windows or [], columns=cols),
        pd.DataFrame(totals or [], columns=["group", "window", "mv_raw", "n_firms"]),
        groups or {},
        pd.DataFrame(),
        excluded or {},
    )


def test_claims_without_evidence_are_not_checkable_with_the_reason():
    specs = [
        _spec(id="empty", universes=("u",)),
        _spec(id="gone", metric="close_move", rule="rounded_percent", figure=5.0, ticker="NVDA", universes=()),
        _spec(id="stranger", metric="close_move", rule="rounded_percent", figure=5.0, ticker="ZZZ", universes=()),
        _spec(id="window", window="[0,+2]"),
        _spec(id="novalue", metric="total_mv_change", rule="more_than", figure=1.0, universes=("u",)),
    ]
    ctx = _ctx(groups={"u": ()}, excluded={"NVDA": "its data failed the checksum"})
    table = claims.check(specs, ctx, ("[0,0]", "[-1,+1]")).set_index("id")
    assert (table.verdict == "not checkable").all()
    assert table.reason["empty"] == "not checkable: no firm of u has a return over day 0"
    assert table.reason["gone"] == "not checkable: NVDA was excluded: its data failed the checksum"
    assert "ZZZ is not a firm of this study" in table.reason["stranger"]
    assert "'[0,+2]' is not among this run's windows ([0,0], [-1,+1])" in table.reason["window"]
    assert "no firm of u has a market value" in table.reason["novalue"]


def test_a_claimed_rise_is_measured_as_a_rise():
    ctx = _ctx(
        day0={"ret": {"A": 0.12}, "high_ret": {"A": 0.15}},
        windows=[("A", "[0,0]", 0.12, 0.05, 3e9)],
        groups={"u": ("A",)},
    )
    on_a = dict(ticker="A", universes=(), rule="rounded_percent")
    specs = [
        _spec(id="close", metric="close_move", figure=12.0, direction="rise", **on_a),
        _spec(id="high", metric="intraday_extreme", figure=15.0, direction="rise", **on_a),
        _spec(id="fell", metric="close_move", figure=12.0, **on_a),
        _spec(id="mv", metric="mv_change", figure=3.0, direction="rise", **{**on_a, "rule": "close_to"}),
    ]
    table = claims.check(specs, ctx, ("[0,0]",)).set_index("id")
    assert table.verdict.to_dict() == {
        "close": "supported",
        "high": "supported",
        "fell": "contradicted",
        "mv": "supported",
    }
    assert table.computed["close"] == "A over day 0: +12.0 % (abnormal +5.0 %)"
