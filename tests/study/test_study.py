"""The deepseek-2025 study from the committed snapshot: key facts pinned to values worked
from the source files by hand, and every claim's verdict."""

from __future__ import annotations

import pytest

from eventstudy.study.pipeline import run_study

from ..helpers import altered_snapshot

# From unadjusted/NVDA.csv: close 2025-01-24 142.6199951171875; 2025-01-27 close
# 118.41999816894531, low 116.69999694824219, open 124.80000305175781. Shares (10-Q cover): 24.49 bn.
NVDA_PREV, NVDA_CLOSE = 142.6199951171875, 118.41999816894531
NVDA_LOW, NVDA_OPEN, NVDA_HIGH = 116.69999694824219, 124.80000305175781, 128.39999389648438
NVDA_SHARES = 24_490_000_000


@pytest.fixture(scope="module")
def res():
    return run_study("deepseek-2025")


def test_event_day(res):
    assert str(res.event.date.date()) == "2025-01-27" and res.event.rolled_from is None


def test_nvda_close_to_close_and_intraday(res):
    d = res.day0.loc["NVDA"]
    assert d.ret == pytest.approx(NVDA_CLOSE / NVDA_PREV - 1, abs=1e-12)  # −16.97 %
    assert d.low_ret == pytest.approx(NVDA_LOW / NVDA_PREV - 1, abs=1e-12)  # −18.17 %
    assert d.open_gap == pytest.approx(NVDA_OPEN / NVDA_PREV - 1, abs=1e-12)  # −12.49 %
    assert d.high_ret == pytest.approx(NVDA_HIGH / NVDA_PREV - 1, abs=1e-12)  # −9.97 %: even the high was down
    assert d.close_vs_high == pytest.approx(NVDA_CLOSE / NVDA_HIGH - 1, abs=1e-12)


def test_nvda_market_value_change(res):
    d = res.day0.loc["NVDA"]
    assert d.mv_change == pytest.approx(NVDA_SHARES * (NVDA_CLOSE - NVDA_PREV), rel=1e-12)  # −$592.7 bn
    assert d.mv_change_at_low == pytest.approx(NVDA_SHARES * (NVDA_LOW - NVDA_PREV), rel=1e-12)
    assert d.mv_change_at_high == pytest.approx(NVDA_SHARES * (NVDA_HIGH - NVDA_PREV), rel=1e-12)


def test_nvda_abnormal_change_is_previous_value_times_ar(res):
    d = res.day0.loc["NVDA"]
    assert d.mv_abnormal == pytest.approx(NVDA_SHARES * NVDA_PREV * d.ar, rel=1e-12)


EXPECTED = {
    "nvda-intraday-17": "roughly right",  # 18.2 % vs 17 %: 1.2 points
    "nvda-mcap-600b": "supported",  # $593 bn within [540, 612]
    "nvda-rebound": "supported",  # closed above the low, below the previous close
    "total-1t-more": "supported",  # ai_chips, ai_highflyers, tech_large exceed $1 trn
    "total-1t-nearly": "roughly right",  # best fit ai_chips at $1,053 bn: above 1.02 X, within 1.10 X
    "ai-highflyers-double-digit": "roughly right",  # 18 of 27 lost ≥ 10 %
    "big-tech-hit": "roughly right",  # 4 of 5 fell to 6 Feb; AMZN rose
    "nvda-premarket-13": "not checkable with daily data",
    "no-exception": "supported",  # all 27 fell on day 0
}


@pytest.mark.parametrize("claim", list(EXPECTED))
def test_claim_verdicts(res, claim):
    row = res.claims.set_index("id").loc[claim]
    assert row.verdict == EXPECTED[claim], row.reason


def test_claims_cite_their_articles(res):
    assert res.claims.article.str.match(r"\d{3}_[0-9a-f]{16}\.txt").all()


def test_alphabet_counts_once_and_etfs_never(res):
    firms = set(res.main.events.ticker)
    assert "GOOGL" in firms and "GOOG" not in firms
    assert not firms & {"SPY", "QQQ", "TQQQ", "VOO"}
    assert res.shares.set_index("firm").loc["GOOGL", "classes"] == "A@GOOGL; B@GOOGL; C@GOOG"


def test_late_listings_are_excluded_with_reason(res):
    reasons = res.excluded.set_index("ticker").reason
    assert "valid returns in the estimation window" in reasons.loc["CRWV"]


def test_group_keys_allow_overlap(res):
    assert "NVDA" in res.groups["named"] and "NVDA" in res.groups["ai_chips"]
    assert set(res.groups["ai_highflyers"]) == set(res.groups["ai_chips"]) | set(res.groups["ai_power_infra"])


def test_sensitivity_runs_under_both_benchmarks(res):
    assert set(res.sensitivity) == {"SPY", "ex_ai_value"}
    spy, ex = (res.sensitivity[b].car_of("[0,0]").car for b in ("SPY", "ex_ai_value"))
    # the constructed index rose on day 0 while SPY fell: every firm's AR is lower against it
    assert (ex.loc[["NVDA", "MSFT"]] < spy.loc[["NVDA", "MSFT"]]).all()


def test_summary_is_readable(res):
    text = res.summary()
    assert "Claims" in text and "kolari-pynnonen" in text and "NVDA" in text
    assert "Day 0 by firm (ret = close to close incl. dividends; AR vs the model)" in text


def test_the_summary_says_what_a_price_return_is():
    from dataclasses import replace

    from eventstudy.study.studyfile import load_study

    study = replace(load_study("deepseek-2025"), returns="price")
    assert "Day 0 by firm (ret = close to close, no dividends; AR vs the model)" in run_study(study).summary()


def test_a_damaged_snapshot_file_makes_universes_without_nvidia_uncheckable(tmp_path):
    """NVIDIA's file altered: its claims and every total over a universe that holds it are not
    checkable (saying so), never a total that silently leaves it out."""
    from eventstudy.data.snapshot import Snapshot

    damaged = run_study("deepseek-2025", snapshot=Snapshot(altered_snapshot(tmp_path, "NVDA")))
    rows = damaged.claims.set_index("id")
    assert rows.verdict["nvda-mcap-600b"] == "not checkable"
    assert rows.verdict["total-1t-more"] == "not checkable", rows.reason["total-1t-more"]
    assert "13 of 14 members of ai_chips measured (not: NVDA:" in rows.reason["total-1t-more"]
    assert "a total needs every member" in rows.reason["total-1t-more"]
    assert rows.verdict["no-exception"] == "not checkable"  # "without exception" needs NVIDIA too
    assert "26 of 27 members of ai_highflyers measured" in rows.reason["no-exception"]
