"""The exchanges' sessions kept in the cache folder for the day: a calendar read back answers as
the one exchange_calendars builds, a stale or damaged file is built again, and a folder that
cannot be written costs only the time."""

from __future__ import annotations

import warnings

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from eventstudy.cli import main
from eventstudy.core import calendar
from eventstudy.data.calendars import SessionFiles


@pytest.fixture()
def fresh(monkeypatch):
    """No calendar held in this process; the store is the test's to set (and unset after)."""
    monkeypatch.setattr(calendar, "_STORE", [])
    calendar._exchange.cache_clear()
    yield
    calendar._exchange.cache_clear()


def _xnys() -> pd.DatetimeIndex:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.DatetimeIndex(xcals.get_calendar("XNYS", start="1926-01-02").sessions)


def _built_again(monkeypatch) -> list[str]:
    """The codes built from exchange_calendars from now on (the build itself still runs)."""
    built, build = [], calendar._build
    monkeypatch.setattr(calendar, "_build", lambda code: built.append(code) or build(code))
    return built


def test_sessions_kept_for_the_day_are_read_back_and_answer_as_the_built_calendar(tmp_path, fresh, monkeypatch):
    built = _built_again(monkeypatch)
    calendar.keep_sessions_in(SessionFiles(tmp_path))
    first = calendar.sessions("1926-01-01", "2027-12-31")
    assert built == ["XNYS"] and first.equals(_xnys())
    calendar._exchange.cache_clear()  # as a second process would start
    again = calendar.sessions("1926-01-01", "2027-12-31")
    assert built == ["XNYS"]  # read back, not built
    assert again.equals(first) and again.dtype == first.dtype and again.name == "date"
    assert calendar.session_offset("2025-01-10", -1) == pd.Timestamp("2025-01-08")  # the 9 Jan 2025 closure
    assert calendar.roll_event_date("2025-01-25").date == pd.Timestamp("2025-01-27")
    assert calendar.offset_of("2025-01-27", "2025-02-06") == 8


@pytest.mark.parametrize(
    "damage",
    ["stale", "garbage", "unordered", "other code"],
)
def test_a_stale_or_damaged_file_is_built_again_and_replaced(tmp_path, fresh, monkeypatch, damage):
    store = SessionFiles(tmp_path)
    path = tmp_path / "calendars" / "XNYS.npz"
    path.parent.mkdir()
    days = np.array(["2025-01-02", "2025-01-03", "2025-01-06"], "datetime64[D]")
    stamp = calendar._stamp("XNYS")
    if damage == "stale":
        np.savez(path, code=np.str_("XNYS"), stamp=np.str_("exchange_calendars 0.1, 2020-01-01"), days=days)
    elif damage == "garbage":
        path.write_bytes(b"not an npz file")
    elif damage == "unordered":
        np.savez(path, code=np.str_("XNYS"), stamp=np.str_(stamp), days=days[::-1])
    else:
        np.savez(path, code=np.str_("XLON"), stamp=np.str_(stamp), days=days)
    built = _built_again(monkeypatch)
    calendar.keep_sessions_in(store)
    xnys = _xnys()
    assert calendar.sessions("2024-12-30", "2025-01-10").equals(xnys[(xnys >= "2024-12-30") & (xnys <= "2025-01-10")])
    assert built == ["XNYS"]
    assert store.load("XNYS", stamp).equals(_xnys())  # replaced by the built sessions


def test_a_cache_folder_that_cannot_be_written_costs_only_the_time(tmp_path, fresh):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    calendar.keep_sessions_in(SessionFiles(blocked))
    assert len(calendar.sessions("2025-01-02", "2025-01-31")) == 20
    assert not (tmp_path / "calendars").exists()


def test_the_command_keeps_the_sessions_in_its_cache_folder_and_lets_go_of_it(tmp_path, fresh, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "tariff-pause-2025", "--offline", "--quiet", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert (tmp_path / "cache" / "calendars" / "XNYS.npz").is_file()
    assert calendar._STORE == []  # the store was the command's only


def test_sessions_are_counted_in_the_calendar_s_own_words():
    assert calendar.sessions_of("XNYS") == "NYSE sessions"
    assert calendar.sessions_of("XLON") == "XLON sessions"
    name = calendar.register_sessions("data:test-market.csv", pd.bdate_range("2024-01-01", periods=5))
    assert calendar.sessions_of(name) == "dates of the market series"


def test_the_nyse_s_sessions_reach_back_to_crsp_s_first_year(fresh):
    """A study of CRSP's older years counts in the NYSE's own sessions: the 1987 crash's weekend
    rolls to Monday 19 October, the 1968 paperwork crisis's Wednesday closures are no sessions,
    and an estimation window in 1926 is counted (the calendar started in 1990: "-251 sessions
    from 1990-03-01 is outside the calendar")."""
    assert calendar.roll_event_date("1987-10-17").date == pd.Timestamp("1987-10-19")
    assert calendar.session_offset("1968-06-13", -1) == pd.Timestamp("1968-06-11")  # closed Wednesday 12 June
    assert calendar.session_offset("1990-03-01", -251) == pd.Timestamp("1989-03-03")
    assert calendar.sessions("1900-01-01", "1926-01-31")[0] == pd.Timestamp("1926-01-04")  # 2 January: a Saturday
