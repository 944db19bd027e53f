"""What data a study asks for and whether the data serve it: its tickers and the sessions its
windows reach (for a fetch from WRDS before the study has data of its own), the event day in
the data and not in the future, and a note when the data start later or end sooner."""

from __future__ import annotations

import pandas as pd

from ..core import calendar
from ..errors import CalendarError
from .spec import Study


def study_tickers_and_span(study: Study) -> tuple[list[str], pd.Timestamp, pd.Timestamp]:
    """The tickers of the groups (or of the events file) and the first and last session the
    study reads (:attr:`Study.reach`) from its first and last event."""
    far = study.reach
    if study.is_sample:
        from .sample import read_events

        events = read_events(study).events
        tickers = list(dict.fromkeys(events.ticker))
        first, last = events.event_date.min(), events.event_date.max()
    else:
        tickers = sorted({t for g in study.groups.values() for t in g.tickers})
        first = last = calendar.roll_event_date(study.event_date, study.exchange).date
    start = calendar.session_offset(first, study.estimation.start - 1, study.exchange)
    end = calendar.session_offset(last, far, study.exchange)
    return tickers, start, end


def check_not_future(event: calendar.EventDay) -> None:
    if event.date > pd.Timestamp.today().normalize():
        raise CalendarError(f"event date {event.date:%Y-%m-%d} is in the future: there are no prices yet")


def coverage_note(
    returns: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, exchange: str = calendar.EXCHANGE
) -> str:
    """Say so when the estimation window starts before the firms' data do, or the windows
    end after them."""
    have = returns.dropna(how="all")
    if have.empty:
        return ""
    notes = []
    if have.index[0] > calendar.session_offset(start, 2, exchange):
        first = calendar.session_offset(start, 1, exchange)
        notes.append(
            f"the estimation window starts on {first:%Y-%m-%d}, but the data start on "
            f"{have.index[0]:%Y-%m-%d}: firms have fewer estimation returns (and may be excluded for it)"
        )
    if have.index[-1] < end:
        notes.append(
            f"the windows and the path reach {end:%Y-%m-%d}, but the data end on {have.index[-1]:%Y-%m-%d}: "
            "windows past that day have no CAR"
        )
    return "; ".join(notes)


def check_event_in_data(date: pd.Timestamp, returns: pd.DataFrame, remedy: str = "") -> None:
    """A :class:`CalendarError` when no firm has a return on the event day, saying which days the
    data loaded do cover, and ``remedy`` (what to do about it) when given."""
    if date not in returns.index or returns.loc[date].isna().all():
        have = returns.dropna(how="all")
        span = (
            f"cover {have.index[0]:%Y-%m-%d} .. {have.index[-1]:%Y-%m-%d}" if len(have) else "cover no day of its span"
        )
        raise CalendarError(
            f"no returns on the event day {date:%Y-%m-%d}: the data {span}" + (f"; {remedy}" if remedy else "")
        )
