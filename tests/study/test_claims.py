"""Wording rules at their boundaries (CLAIMS.md), independent of any data."""

from __future__ import annotations

import pandas as pd
import pytest

from eventstudy.study import claims
from eventstudy.study.claims import context, rules
from eventstudy.study.spec import ClaimSpec


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
    assert rules.rounded_percent(17, y) == verdict


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
    assert rules.close_to(600, y) == verdict


@pytest.mark.parametrize("y, verdict", [(1001, "supported"), (900, "roughly right"), (899, "overstated")])
def test_more_than(y, verdict):
    assert rules.more_than(1000, y) == verdict


def _m(moves, missing=None, universe="u", total=False):
    """A measurement of one universe: its members' signed moves and the members not measured."""
    value = pd.Series(moves, dtype=float)
    part = context.Part(universe, moves, missing or {}, {}, float(value.sum() if total else value.median()), total)
    return context.Measurement(float("nan"), "t", parts=(part,))


def _spec(**kw):
    base = dict(id="c", article="a", says="s", metric="universe_returns", rule="all_moved", universes=("u",))
    return ClaimSpec(**{**base, **kw})


def test_double_digit_lists_the_exceptions():
    spec = _spec(rule="double_digit")
    verdict, reason = rules.double_digit(spec, _m({"A": 12.0, "B": 11.0, "C": 4.0}))
    assert verdict == "roughly right" and "C -4.0 %" in reason and "lost ≥ 10 %" in reason
    assert rules.double_digit(spec, _m({"A": 12.0, "B": 10.0}))[0] == "supported"
    assert rules.double_digit(spec, _m({"A": 12.0, "B": 9.0}))[0] == "overstated"
    rise = _spec(rule="double_digit", direction="rise")
    verdict, reason = rules.double_digit(rise, _m({"A": 12.0, "B": 4.0}))
    assert verdict == "overstated" and "gained ≥ 10 %" in reason and "B +4.0 %" in reason


def test_all_moved_in_the_claimed_direction():
    spec = _spec()
    verdict, reason = rules.all_moved(spec, _m({"A": 1.0, "B": 2.0}))
    assert verdict == "supported" and reason == "2 of 2 fell over day 0 (median -1.5 %); did not: none"
    verdict, reason = rules.all_moved(spec, _m({"A": 1.0, "B": -2.0, "C": 3.0}))
    assert verdict == "roughly right" and "did not: B +2.0 %" in reason
    assert rules.all_moved(spec, _m({"A": -1.0, "B": -2.0, "C": -3.0, "D": 1.0}))[0] == "contradicted"
    verdict, reason = rules.all_moved(_spec(direction="rise"), _m({"A": 3.0}))
    assert verdict == "supported" and reason.startswith("1 of 1 rose") and "median +3.0 %" in reason


def test_best_fitting_universe_is_named_with_every_universe_of_its_verdict():
    spec = _spec(metric="total_mv_change", rule="close_to", figure=1000.0, universes=("a", "b", "c"))
    moves = (("a", 500.0), ("b", 950.0), ("c", 1010.0))
    parts = tuple(context.Part(u, {f"{u}1": v}, {}, {}, v, True) for u, v in moves)
    verdict, reason = rules.RULES["close_to"].func(spec, context.Measurement(float("nan"), "t", parts=parts))
    assert verdict == "supported" and reason.startswith("supported for: b, c; best fit c: computed $1,010 bn")
    assert "the article's $1,000 bn" in reason


def test_a_move_the_other_way_contradicts_a_scalar_claim():
    spec = _spec(metric="close_move", rule="rounded_percent", figure=17.0, ticker="X", universes=())
    verdict, reason = rules.RULES["rounded_percent"].func(spec, context.Measurement(-3.0, "t"))
    assert verdict == "contradicted" and "the article's 17 % fall" in reason


def test_a_gain_against_a_claimed_loss_in_money_is_written_as_money():
    spec = _spec(metric="mv_change", rule="close_to", figure=600.0, ticker="X", universes=())
    verdict, reason = rules.RULES["close_to"].func(spec, context.Measurement(-5.0, "t"))
    assert verdict == "contradicted"
    assert reason.startswith("moved the other way: -$5 bn against the article's $600 bn fall"), reason


def _ctx(day0=None, windows=None, groups=None, excluded=None, spans=None, trading=None):
    cols = ["firm", "window", "ret", "car", "mv_raw"]
    return context.ClaimContext(
        pd.DataFrame(day0 or {}, index=pd.Index(list((day0 or {}).get("ret", {})), name="firm")),
        pd.DataFrame(windows or [], columns=cols),
        groups or {},
        pd.DataFrame(),
        excluded or {},
        spans or {},
        trading or {},
    )


def test_claims_without_evidence_are_not_checkable_with_the_reason():
    specs = [
        _spec(id="empty", universes=("u",)),
        _spec(id="gone", metric="close_move", rule="rounded_percent", figure=5.0, ticker="NVDA", universes=()),
        _spec(id="stranger", metric="close_move", rule="rounded_percent", figure=5.0, ticker="ZZZ", universes=()),
        _spec(id="window", window="[0,+2]"),
        _spec(id="novalue", metric="total_mv_change", rule="more_than", figure=1.0, universes=("u",)),
    ]
    ctx = _ctx(groups={"u": ("NVDA",)}, excluded={"NVDA": "its data failed the checksum"})
    table = claims.check(specs, ctx, ("[0,0]", "[-1,+1]")).set_index("id")
    assert (table.verdict == "not checkable").all()
    assert table.reason["empty"] == "not checkable: no firm of u has a return over day 0"
    assert table.reason["gone"] == "not checkable: NVDA was excluded: its data failed the checksum"
    assert "ZZZ is not a firm or series of this study" in table.reason["stranger"]
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


def _returns_ctx(rets, groups, excluded=None, mv=None, spans=None, trading=None):
    """Day-0 returns (and market-value changes, USD) of the firms measured."""
    nan = float("nan")
    windows = [(f, "[0,0]", r, nan, (mv or {}).get(f, nan)) for f, r in rets.items()]
    return _ctx(day0={"ret": rets}, windows=windows, groups=groups, excluded=excluded, spans=spans, trading=trading)


def test_a_claim_on_several_universes_measures_each_universe():
    banks = {"JPM": -0.09, "BAC": -0.10, "C": -0.12, "WFC": -0.094, "GS": -0.08, "MS": -0.095}
    retail = {"WMT": -0.15, "TGT": -0.12, "COST": -0.11}
    ctx = _returns_ctx({**banks, **retail}, {"banks": tuple(banks), "retail": tuple(retail)})
    spec = _spec(rule="rounded_percent", figure=12.0, universes=("banks", "retail"))
    row = claims.check([spec], ctx, ("[0,0]",)).iloc[0]
    # banks' median fell 9.45 %, retail's 12 %: the claim fits retail, not one bank
    assert row.verdict == "supported"
    assert row.reason.startswith("supported for: retail; best fit retail: computed 12.0 %")
    assert "(banks: overstated, retail: supported)" in row.reason
    assert "banks over day 0: 6 of 6 fell, median -9.4 %" in row.computed
    assert "retail over day 0: 3 of 3 fell, median -12.0 %" in row.computed


def test_a_universe_that_lost_members_is_not_judged_on_the_survivors():
    banks = ("BAC", "C", "GS", "JPM", "MS", "WFC")
    gone = {t: "no prices offline" for t in banks if t != "JPM"}
    ctx = _returns_ctx({"JPM": -0.05}, {"banks": banks}, excluded=gone, mv={"JPM": -45e9})
    on = {"universes": ("banks",)}
    specs = [
        _spec(id="all", **on),
        _spec(id="total", metric="total_mv_change", rule="more_than", figure=40.0, **on),
        _spec(id="median", rule="rounded_percent", figure=5.0, **on),
    ]
    table = claims.check(specs, ctx, ("[0,0]",)).set_index("id")
    assert (table.verdict == "not checkable").all(), table.reason.to_dict()
    for reason in table.reason:
        assert "1 of 6 members of banks measured" in reason and "BAC: no prices offline" in reason
    assert "a total needs every member" in table.reason["total"]


def test_a_verdict_that_holds_whatever_the_missing_members_did_is_given():
    firms = [f"F{i}" for i in range(10)]
    moves = dict(zip(firms[:8], [-0.12, -0.15, -0.11, -0.2, -0.13, -0.14, -0.16, -0.05], strict=True))
    ctx = _returns_ctx(moves, {"u": tuple(firms)}, excluded={"F8": "x", "F9": "y"})
    table = claims.check([_spec(id="dd", rule="double_digit")], ctx, ("[0,0]",)).set_index("id")
    # 7 of 10 lost ≥ 10 % at worst, 9 of 10 at best: "most" either way
    assert table.verdict["dd"] == "roughly right"
    assert "8 of 10 members of u measured (not: F8: x; F9: y)" in table.reason["dd"]
    moves[firms[7]] = -0.18  # now the two missing decide between supported and roughly right
    ctx = _returns_ctx(moves, {"u": tuple(firms)}, excluded={"F8": "x", "F9": "y"})
    table = claims.check([_spec(id="dd", rule="double_digit")], ctx, ("[0,0]",)).set_index("id")
    assert table.verdict["dd"] == "not checkable"
    # a median that the missing values cannot move out of the rule's band
    five = {"A": -0.12, "B": -0.12, "C": -0.12, "D": -0.122, "E": -0.118}
    ctx = _returns_ctx(five, {"u": (*five, "F")}, excluded={"F": "no prices"})
    row = claims.check([_spec(id="m", rule="rounded_percent", figure=12.0)], ctx, ("[0,0]",)).iloc[0]
    assert row.verdict == "supported" and "5 of 6 members of u measured" in row.reason


def test_a_firm_not_yet_listed_takes_no_part_in_a_total():
    day = pd.Timestamp
    ctx = _returns_ctx(
        {"A": -0.1, "B": -0.2},
        {"u": ("A", "B", "NEW")},
        mv={"A": -600e9, "B": -500e9},
        spans={"[0,0]": (day("2025-01-24"), day("2025-01-27"))},
        trading={"A": (day("2020-01-02"), day("2025-06-30")), "NEW": (day("2025-02-24"), day("2025-06-30"))},
    )
    spec = _spec(metric="total_mv_change", rule="more_than", figure=1000.0)
    row = claims.check([spec], ctx, ("[0,0]",)).iloc[0]
    assert row.verdict == "supported"
    assert row.computed == "u (2 of 2 firms valued; not listed at the window's start: NEW) −$1,100 bn"


def test_an_unchecked_universe_that_might_fit_better_leaves_the_claim_unchecked():
    ctx = _returns_ctx(
        {"A": -0.1, "B": -0.2},
        {"small": ("A",), "big": ("A", "B", "C")},
        excluded={"C": "its file is damaged"},
        mv={"A": -100e9, "B": -500e9},
    )
    spec = _spec(metric="total_mv_change", rule="more_than", figure=1000.0, universes=("small", "big"))
    row = claims.check([spec], ctx, ("[0,0]",)).iloc[0]
    assert row.verdict == "not checkable"
    assert "at best overstated (small: overstated, big: not checkable)" in row.reason
    assert "C: its file is damaged" in row.reason


@pytest.mark.parametrize(
    "x, y, verdict",
    [
        (12.16, 12.163, "supported"),
        (12.16, 12.17, "roughly right"),
        (9.5, 9.549, "supported"),
        (9.5, 9.56, "roughly right"),
    ],
)
def test_a_figure_with_decimals_is_judged_at_its_own_precision(x, y, verdict):
    assert rules.rounded_percent(x, y) == verdict
