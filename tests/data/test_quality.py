"""Data-quality flags: a move by a split ratio without a split record, and stretches without
trading, found per firm, shown in the report, and excluding a firm when the study says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.core import calendar
from eventstudy.data import PriceCache, default_snapshot
from eventstudy.data.quality import QualitySpec, _match, excluded_by, price_flags, split_ratios
from eventstudy.data.store import Coverage
from eventstudy.errors import StudyFileError
from eventstudy.study.pipeline import run_study
from eventstudy.study.studyfile import load_study

from ..helpers import study_file, yf_frame

DAYS = calendar.sessions("2024-01-02", "2024-06-28")


def _flat(close=100.0):
    """A quiet series (1 % a day), each day opening at the last close, adjusted close = close."""
    from eventstudy.data.sources import parse_yfinance_frame

    rng = np.random.default_rng(0)
    frame = parse_yfinance_frame(yf_frame(DAYS, close), "X")
    closes = close * np.exp(np.cumsum(rng.normal(0, 0.01, len(DAYS))))
    opens = np.r_[close, closes[:-1]]
    return frame.assign(
        open=opens, close=closes, adj_close=closes, high=np.maximum(opens, closes), low=np.minimum(opens, closes)
    )


def _unsplit(frame, day, factor, adjusted_too=True):
    """The frame as a source that did not adjust for a split on ``day`` would give it: every
    price before it multiplied by ``1 / factor`` (the adjusted close too, or left adjusted)."""
    cols = ["open", "high", "low", "close"] + (["adj_close"] if adjusted_too else [])
    out = frame.copy()
    out.loc[out.index < day, cols] /= factor
    return out


@pytest.mark.parametrize("k", [2, 3, 7, 10, 11, 20, 100])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("adjusted_too", [True, False])
def test_an_unadjusted_split_is_flagged(k, reverse, adjusted_too):
    """Caught by its size (the adjusted close moved with it) or against the adjusted close."""
    frame = _unsplit(_flat(), DAYS[60], k if reverse else 1 / k, adjusted_too)
    flags = price_flags({"X": frame}, DAYS, 5)
    assert list(flags.kind) == ["split_jump"] and flags["first"].iloc[0] == DAYS[60]
    name = f"1-for-{k} reverse split" if reverse else f"{k}-for-1 split"
    assert name in flags.detail.iloc[0]
    assert ("not adjusted for a" in flags.detail.iloc[0]) != adjusted_too


@pytest.mark.parametrize("p, q", [(3, 2), (5, 2), (7, 4), (5, 3)])
def test_a_fractional_split_is_flagged(p, q):
    flags = price_flags({"X": _unsplit(_flat(), DAYS[60], q / p)}, DAYS, 5)
    assert list(flags["first"]) == [DAYS[60]] and f"the ratio of a {p}-for-{q} split (within" in flags.detail.iloc[0]


def test_a_recorded_split_is_checked_against_the_closes():
    """Adjusted closes do not move on the day a split is recorded; closes that move by its
    ratio there were not adjusted for it."""
    frame = _flat()
    frame.loc[DAYS[60], "splits"] = 4.0
    assert price_flags({"X": frame}, DAYS, 5).empty
    unadjusted = _unsplit(frame, DAYS[60], 1 / 4)
    flags = price_flags({"X": unadjusted}, DAYS, 5)
    assert list(flags["first"]) == [DAYS[60]]
    assert flags.detail.iloc[0].endswith("the day a 4-for-1 split is recorded: the close is not adjusted for it")


def test_a_split_sized_move_on_heavy_volume_is_news_not_a_split():
    frame = _unsplit(_flat(), DAYS[60], 2 / 3)
    assert list(price_flags({"X": frame}, DAYS, 5)["first"]) == [DAYS[60]]
    frame.loc[DAYS[60], "volume"] *= 5.0  # a crash on news: five times the usual volume (a 3-for-2 explains 1.5)
    assert price_flags({"X": frame}, DAYS, 5).empty
    raw = _unsplit(_flat(), DAYS[60], 1 / 10)
    raw.loc[DAYS[60] :, "volume"] *= 10.0  # an unadjusted 10-for-1 in raw volume too: explained by the split
    assert list(price_flags({"X": raw}, DAYS, 5)["first"]) == [DAYS[60]]


def test_ordinary_moves_are_not_flagged():
    frame = _flat()
    frame.loc[DAYS[90], "close"] *= 1.6  # a large move in the day: the open did not gap
    frame.loc[DAYS[91] :, ["open", "close", "adj_close"]] *= 1.6
    frame.loc[DAYS[100] :, ["open", "high", "low", "close", "adj_close"]] *= 0.8  # a 5-for-4's size, overnight
    frame.loc[DAYS[110] :, "adj_close"] *= 0.97  # a dividend: close and adjusted close part by 3 %
    assert price_flags({"X": frame}, DAYS, 5).empty


REAL = ["NVDA", "TSLA", "SMCI"]


@pytest.mark.parametrize(
    "factor, name", [(1 / 10, "10-for-1 split"), (1 / 7, None), (2 / 3, "3-for-2 split"), (11, None)]
)
def test_a_split_on_a_day_the_stock_also_moved_is_caught(factor, name):
    """Injected into real volatile series on every fifth day (prices and adjusted closes alike,
    so only the size check can see it): caught on at least 95 % of days, though the day's own
    move adds to the split's (a 2 % tolerance caught a 10-for-1 on a third of SMCI's days, and
    7-for-1 or ×11 never). A common ratio is among the names on 90 % of days (a 3-for-2 on a day
    SMCI fell 15 % is nearer a 2-for-1); a rare one (7, 11) is named by common neighbours."""
    snap = default_snapshot()
    for ticker in REAL:
        base = snap.prices(ticker)[0].dropna(subset=["close"])
        days = base.index
        caught, named = [], []
        for i in range(20, len(days) - 20, 5):
            flags = price_flags({ticker: _unsplit(base, days[i], factor)}, days, 5)
            hit = flags[(flags["first"] == days[i]) & (flags.kind == "split_jump")]
            caught.append(len(hit) == 1)
            named.append(len(hit) == 1 and (name is None or name in hit.detail.iloc[0].split(" (within")[0]))
        assert np.mean(caught) >= 0.95 and np.mean(named) >= 0.9, (ticker, np.mean(caught), np.mean(named))


def test_the_real_snapshot_raises_few_flags():
    """Its series are adjusted: the size check may point at a real move (a gap that matches a
    ratio on ordinary volume), but rarely: at most one firm-day in 10,000 (5 in 154,229)."""
    snap = default_snapshot()
    frames = {t: snap.prices(t)[0] for t in snap.tickers()}
    days = pd.DatetimeIndex(sorted(set().union(*(f.index for f in frames.values()))))
    flags = price_flags(frames, days, 5)
    jumps = flags[flags.kind == "split_jump"]
    assert len(jumps) <= sum(len(f) for f in frames.values()) / 10_000
    assert not jumps.detail.str.contains("not adjusted").any()


def test_a_halt_is_one_flagged_stretch_of_its_length():
    frame = _flat()
    frame.loc[DAYS[30] : DAYS[58], "volume"] = 0.0  # 29 sessions halted
    frame = frame.drop(DAYS[100:104])  # 4 sessions without rows: below the threshold of 5
    flags = price_flags({"X": frame}, DAYS, 5)
    assert len(flags) == 1 and flags.kind[0] == "no_trading"
    assert (flags["first"][0], flags["last"][0]) == (DAYS[30], DAYS[58])
    assert flags.detail[0].startswith("29 sessions without trading")
    assert len(price_flags({"X": frame}, DAYS, 4)) == 2


def test_days_before_a_listing_or_after_the_data_end_are_not_a_halt():
    frame = _flat().iloc[40:-40]
    assert price_flags({"X": frame}, DAYS, 5).empty


def test_only_the_kinds_a_study_names_exclude():
    frame = _flat()
    frame.loc[DAYS[60] :, "close"] /= 10
    flags = price_flags({"X": frame, "Y": _flat()}, DAYS, 5)
    assert excluded_by(flags, QualitySpec()) == {}
    why = excluded_by(flags, QualitySpec(exclude=("split_jump",)))
    assert list(why) == ["X"] and why["X"].startswith(
        "data quality (split_jump): the close moves ×0.09956 on 2024-03-28"
    )


def _unadjusted(tmp_path, monkeypatch, ticker="NVDU"):
    """NVDA's real prices in the cache under another name, with the 10-for-1 split of 10 June
    2024 undone before it, as an unadjusted source without split records would give them (the
    snapshot is split-adjusted and records no splits)."""
    frame, cov = default_snapshot().prices("NVDA")
    frame = frame.copy()
    frame.loc[:"2024-06-07", ["open", "high", "low", "close"]] *= 10
    frame["splits"] = 0.0
    cache = PriceCache(tmp_path / "cache")
    cache.write(ticker, frame, Coverage(ticker, cov.start, cov.end, "test", cov.fetched_at, cov.rows))
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(cache.root))


def test_an_unadjusted_split_in_a_study_is_flagged_in_the_report(tmp_path, monkeypatch):
    from eventstudy.report import writer as report

    _unadjusted(tmp_path, monkeypatch)
    res = run_study(study_file(tmp_path, event="2024-09-03", tickers='["NVDU", "MSFT"]'), offline=True)
    assert list(res.flags.ticker) == ["NVDU"] and res.flags["first"][0] == pd.Timestamp("2024-06-10")
    assert "NVDU" in set(res.main.events.ticker)  # flagged, not excluded: the study did not ask
    assert "NVDU: the close moves ×0.1" in res.summary()
    text = report.write(res, tmp_path / "out", tmp_path / "out" / "figures").read_text()
    assert "## Data-quality flags" in text and "10-for-1 split" in text
    assert "NVDU" in (tmp_path / "out" / "results" / "flags.csv").read_text()


def test_a_study_threshold_excludes_the_flagged_firm(tmp_path, monkeypatch):
    _unadjusted(tmp_path, monkeypatch)
    extra = '[quality]\nexclude = ["split_jump"]'
    res = run_study(study_file(tmp_path, event="2024-09-03", tickers='["NVDU", "MSFT"]', extra=extra), offline=True)
    row = res.excluded.set_index("ticker").loc["NVDU"]
    assert row.stage == "quality" and "10-for-1 split" in row.reason
    assert list(res.main.events.ticker) == ["MSFT"]


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[quality]\nexclude = ["splits"]', "unknown kind of flag 'splits'"),
        ("[quality]\nno_trading_days = 1", "at least 2"),
        ("[quality]\nstale = 3", "not a known field"),
    ],
)
def test_quality_fields_are_checked(tmp_path, extra, message):
    with pytest.raises(StudyFileError, match=message):
        load_study(study_file(tmp_path, extra=extra))


def test_a_move_is_matched_to_the_split_every_factor_would_name():
    """The matching scores only the factors within reach of each move: the same index as scoring
    every factor (a common ratio first, then the nearest), on moves at the tolerance's edges."""
    factors, _, common = split_ratios()
    rng = np.random.default_rng(7)
    tol = 0.07
    edges = np.concatenate([factors + tol, factors - tol, factors + tol * (1 + 1e-15), factors])
    moves = np.concatenate([edges, rng.normal(0, 1.5, 2000), [np.nan, np.inf, -np.inf, 0.0]])
    gap = np.abs(np.nan_to_num(moves, nan=np.inf)[:, None] - factors[None, :])
    score = np.where(gap <= tol, gap + np.where(common, 0.0, 10.0), np.inf)
    best = np.argmin(score, axis=1)
    every = np.where(np.isfinite(score[np.arange(len(moves)), best]), best, -1)
    got = _match(moves, tol)
    assert (got == every).all() and (got >= 0).sum() > len(factors)
