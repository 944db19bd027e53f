"""The catalogue of bad inputs and faults: each gives a clear, specific message and loses nothing."""

from __future__ import annotations

import re
import threading

import numpy as np
import pandas as pd
import pytest

from eventstudy.core.engine import run_event_study
from eventstudy.core.returns import total_returns
from eventstudy.core.windows import Window
from eventstudy.data import PriceCache, load_prices
from eventstudy.data.store import Coverage, read_prices, write_prices
from eventstudy.errors import CalendarError, NoFirmsLeftError, StudyFileError
from eventstudy.report import writer as report
from eventstudy.study.pipeline import run_study
from eventstudy.study.studyfile import load_study

from ..helpers import FakeSource, study_file, synthetic_panel, yf_frame

# --- firms and dates -------------------------------------------------------------------------


def test_unknown_ticker_is_excluded_with_its_reason(tmp_path):
    res = run_study(study_file(tmp_path, tickers='["NVDA", "NOTATICKER"]'))
    why = res.excluded.set_index("ticker").reason
    assert "unknown ticker" in why.loc["NOTATICKER"] and "NVDA" in set(res.main.events.ticker)


def test_etf_in_a_group_is_never_a_firm(tmp_path):
    res = run_study(study_file(tmp_path, tickers='["NVDA", "QQQ"]'))
    assert res.excluded.set_index("ticker").reason.loc["QQQ"] == "an ETF, never a firm"


def test_all_firms_failing_is_one_clear_error(tmp_path):
    with pytest.raises(NoFirmsLeftError, match="no firm is left to study.*NOPE1, NOPE2: unknown ticker"):
        run_study(study_file(tmp_path, tickers='["NOPE1", "NOPE2"]'))


def test_weekend_event_is_rolled_and_said(tmp_path):
    res = run_study(study_file(tmp_path, event="2025-01-25"))
    assert res.event.date == pd.Timestamp("2025-01-27") and res.event.rolled_from == pd.Timestamp("2025-01-25")
    assert "rolled forward to 2025-01-27" in res.notes[0]
    text = report.write(res, tmp_path / "out", tmp_path / "figs").read_text()
    assert "2025-01-25 is not an NYSE session" in text


def test_holiday_event_is_rolled(tmp_path):
    res = run_study(study_file(tmp_path, event="2025-01-09"))  # national day of mourning: market closed
    assert res.event.date == pd.Timestamp("2025-01-10")


def test_future_event_is_refused(tmp_path):
    with pytest.raises(CalendarError, match="in the future"):
        run_study(study_file(tmp_path, event="2027-03-01"))


def test_event_before_the_data_is_refused(tmp_path):
    """Offline, the message says where the data came from and what to do."""
    with pytest.raises(CalendarError) as err:
        run_study(study_file(tmp_path, event="2022-03-01"))
    assert str(err.value).startswith("no returns on the event day 2022-03-01: the data cover no day of its span; ")
    assert "offline, only the committed snapshot and the cache are read: run without --offline" in str(err.value)
    assert "eventstudy fetch s keeps them" in str(err.value)


def test_estimation_window_shorter_than_min_obs_is_refused_up_front(tmp_path):
    with pytest.raises(StudyFileError, match=r"min_estimation_obs': 120 is more than the 30 sessions"):
        run_study(study_file(tmp_path, estimation="[-40, -11]"))


def test_late_listing_is_excluded_not_dropped(tmp_path):
    res = run_study(study_file(tmp_path, tickers='["NVDA", "CRWV"]'))  # CoreWeave listed March 2025
    assert "valid returns in the estimation window" in res.excluded.set_index("ticker").reason.loc["CRWV"]


# --- returns and windows ---------------------------------------------------------------------


def test_missing_return_inside_an_event_window_is_reported():
    returns, regressors, events = synthetic_panel(n_firms=3)
    returns.iloc[271, 1] = np.nan  # day +1 of firm F001
    res = run_event_study(returns, regressors, events, windows=[Window(0, 0), Window(-1, 1)])
    row = res.excluded.set_index("ticker").loc["F001"]
    assert row.stage == "window [-1,+1]" and "missing return on day(s) +1" in row.reason
    assert np.isnan(res.car_of("[-1,+1]").car.loc["F001"]) and np.isfinite(res.car_of("[0,0]").car.loc["F001"])


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_a_window_past_the_end_of_the_data_is_said_to_be_so_not_missing(engine):
    """Days after the last session are not gaps in the firm's returns: the reason names them apart."""
    returns, regressors, events = synthetic_panel(n_firms=3)
    events.loc[0, "event_date"] = returns.index[-2]  # day +1 is the last session
    returns.iloc[271, 1] = np.nan  # day +1 of firm F001
    returns.iloc[[268, 272, 273, 274], 2] = np.nan  # days -2, +2, +3 and +4 of firm F002
    windows = [Window(0, 0), Window(-2, 4)]
    res = run_event_study(returns, regressors, events, windows=windows, path=Window(-5, 5), engine=engine)
    reasons = res.excluded.set_index("ticker").reason
    assert reasons["F000"] == "day(s) +2 to +4 after the last session of the data: no CAR"
    assert reasons["F001"] == "missing return on day(s) +1: no CAR"
    assert reasons["F002"] == "missing return on day(s) -2, +2 to +4: no CAR"  # a run of three days as one


def test_repeated_event_id_is_refused():
    """Two firm-events with one id would be indistinguishable in every result table."""
    returns, regressors, events = synthetic_panel(n_firms=3)
    events.loc[2, "event_id"] = events.event_id[0]
    with pytest.raises(ValueError, match=r"event_id must identify one firm-event; repeated: \['F000'\]"):
        run_event_study(returns, regressors, events)


def test_thin_trading_in_the_estimation_window_drops_days_not_firms():
    returns, regressors, events = synthetic_panel(n_firms=2)
    returns.iloc[30:130, 0] = np.nan
    res = run_event_study(returns, regressors, events)
    assert res.events.set_index("ticker").n_est.to_dict() == {"F000": 140, "F001": 240}


def test_missing_market_return_is_never_filled():
    returns, regressors, events = synthetic_panel(n_firms=2)
    regressors.iloc[270] = np.nan  # no benchmark return on day 0
    res = run_event_study(returns, regressors, events, windows=[Window(0, 0)])
    assert res.car_of("[0,0]").car.isna().all()


@pytest.mark.parametrize("bad", [0.0, -5.0], ids=["zero", "negative"])
def test_zero_or_negative_price_gives_no_return(bad):
    got = total_returns(pd.Series([10.0, bad, 10.0]), pd.Series([0.0, 0.0, 0.0]))
    assert np.isnan(got.iloc[1]) and np.isnan(got.iloc[2])  # neither into nor out of a bad price


def test_overlapping_windows_fail_at_load(tmp_path):
    path = study_file(tmp_path, estimation="[-250, 0]")
    with pytest.raises(StudyFileError, match=r"study.toml: field 'model.windows'.*start after the estimation"):
        load_study(path)


def test_split_inside_the_window_leaves_returns_smooth(tmp_path):
    """yfinance's Close is split-adjusted; a split recorded in the window changes no return."""
    days = pd.bdate_range("2025-01-06", periods=4)
    frame = yf_frame(days, 10.0)
    frame.loc[days[2], "Stock Splits"] = 10.0
    from eventstudy.data.sources import parse_yfinance_frame

    parsed = parse_yfinance_frame(frame, "X")
    assert (total_returns(parsed.close, parsed.dividends).iloc[1:] == 0).all()


# --- study files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, field, message",
    [
        (lambda t: t.replace('title = "Test study"\n', ""), "study.title", "is missing"),
        (lambda t: t.replace("title =", "titel ="), "study.titel", "not a known field"),
        (
            lambda t: t.replace("min_estimation_obs = 120", 'min_estimation_obs = "many"'),
            "model.min_estimation_obs",
            "must be int",
        ),
        (lambda t: t.replace('name = "market"', 'name = "capm"'), "model.name", "unknown model 'capm'"),
        (lambda t: t.replace("windows = [[0, 0], [-1, 1]]", "windows = [[0]]"), "model.windows[0]", "must be"),
        (lambda t: t + 'h = { union = ["nosuch"] }\n', "groups.h", "unknown group 'nosuch'"),
        (lambda t: t.replace("event_date = 2025-01-27", 'event_date = "someday"'), "study.event_date", "not a date"),
    ],
    ids=["missing", "misspelt", "wrong-type", "unknown-model", "bad-window", "unknown-group", "bad-date"],
)
def test_study_file_errors_name_field_and_file(tmp_path, edit, field, message):
    path = study_file(tmp_path)
    path.write_text(edit(path.read_text()))
    with pytest.raises(StudyFileError, match=f"study.toml: field '{re.escape(field)}'.*{message}"):
        load_study(path)


def test_claim_with_unknown_metric(tmp_path):
    claim = '[[claims]]\nid = "x"\narticle = "a"\ntitle = "t"\nsays = "s"\nmetric = "vibes"\nrule = "more_than"\n'
    with pytest.raises(StudyFileError, match=r"field 'claims\[0\].metric': unknown metric 'vibes'"):
        load_study(study_file(tmp_path, extra=claim))


def test_benchmark_excluding_an_unknown_group(tmp_path):
    extra = '[benchmarks.idx]\nweights = "value"\nexclude = ["nosuch"]\n'
    with pytest.raises(StudyFileError, match=r"field 'benchmarks.idx.exclude': unknown group 'nosuch'"):
        load_study(study_file(tmp_path, extra=extra))


def test_unknown_study_name():
    with pytest.raises(StudyFileError, match="no such study .*deepseek-2025"):
        load_study("no-such-study")


# --- cache -----------------------------------------------------------------------------------


def test_read_only_cache_keeps_the_data_and_says_so(tmp_path, monkeypatch):
    import eventstudy.data.cache as cache_mod

    def denied(*a, **k):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(cache_mod, "write_prices", denied)
    got = load_prices(
        ["ZZZ"], "2025-01-02", "2025-01-10", offline=False, cache=PriceCache(tmp_path), source=FakeSource()
    )
    assert len(got.frames["ZZZ"]) == 6 and "could not write ZZZ to the cache" in got.notes[0]


def test_two_writers_of_one_ticker_leave_one_whole_file(tmp_path):
    days = pd.bdate_range("2025-01-06", periods=200)
    from eventstudy.data.sources import parse_yfinance_frame

    frames = [parse_yfinance_frame(yf_frame(days, c), "X") for c in (10.0, 20.0)]
    path, barrier = tmp_path / "X.parquet", threading.Barrier(2)

    def writer(frame):
        barrier.wait()
        for _ in range(20):
            write_prices(
                path, frame, Coverage("X", f"{days[0]:%Y-%m-%d}", f"{days[-1]:%Y-%m-%d}", "s", "t", len(frame))
            )

    threads = [threading.Thread(target=writer, args=(f,)) for f in frames]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    back, _ = read_prices(path)
    assert back.close.nunique() == 1 and back.close.iloc[0] in (10.0, 20.0)
    assert [p.name for p in tmp_path.iterdir()] == ["X.parquet"]


def test_a_benchmark_that_never_moved_excludes_with_reason():
    returns, regressors, events = synthetic_panel(n_firms=2)
    regressors.iloc[:] = 0.001  # a constant market: β cannot be estimated
    res = run_event_study(returns, regressors, events)
    assert res.events.empty
    assert (res.excluded.reason == "singular regressors or zero residual variance").all()
