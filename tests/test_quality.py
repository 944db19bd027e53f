"""Data-quality flags: a move by a split ratio without a split record, and stretches without
trading, found per firm, shown in the report, and excluding a firm when the study says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy import calendar
from eventstudy.data import PriceCache, default_snapshot
from eventstudy.data.store import Coverage
from eventstudy.errors import StudyFileError
from eventstudy.pipeline import run_study
from eventstudy.quality import QualitySpec, excluded_by, price_flags
from eventstudy.study import load_study

from .test_data import yf_frame
from .test_errors import study_file

DAYS = calendar.sessions("2024-01-02", "2024-06-28")


def _flat(close=100.0):
    from eventstudy.data.sources import parse_yfinance_frame

    rng = np.random.default_rng(0)
    frame = parse_yfinance_frame(yf_frame(DAYS, close), "X")
    return frame.assign(close=close * np.exp(np.cumsum(rng.normal(0, 0.01, len(DAYS)))))


@pytest.mark.parametrize("k", [2, 3, 10, 20])
@pytest.mark.parametrize("reverse", [False, True])
def test_an_unadjusted_split_is_flagged(k, reverse):
    frame = _flat()
    factor = k if reverse else 1 / k
    frame.loc[DAYS[60] :, "close"] *= factor
    flags = price_flags({"X": frame}, DAYS, 5)
    assert list(flags.kind) == ["split_jump"] and flags["first"].iloc[0] == DAYS[60]
    name = f"1-for-{k} reverse split" if reverse else f"{k}-for-1 split"
    assert name in flags.detail.iloc[0]


def test_a_recorded_split_and_ordinary_moves_are_not_flagged():
    frame = _flat()
    frame.loc[DAYS[60] :, "close"] /= 4
    frame.loc[DAYS[60], "splits"] = 4.0
    frame.loc[DAYS[90], "close"] *= 1.6  # a large real move, no split ratio
    assert price_flags({"X": frame}, DAYS, 5).empty


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
    from eventstudy import report

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
