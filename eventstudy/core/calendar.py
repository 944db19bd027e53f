"""NYSE trading sessions: event days, rolls off weekends and holidays, and session offsets.

Positions relative to an event are counted in exchange sessions (``exchange_calendars``' XNYS),
never in calendar or pandas business days: a Monday event's day −1 is the Friday before, and
market closures such as 9 January 2025 (national day of mourning) are not sessions.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from ..errors import CalendarError

EXCHANGE = "XNYS"


@dataclass(frozen=True)
class EventDay:
    """The session an event is measured from; ``rolled_from`` is the requested date if it was
    not a session (a weekend or holiday), else ``None``."""

    date: pd.Timestamp
    rolled_from: pd.Timestamp | None = None

    @property
    def note(self) -> str:
        if self.rolled_from is None:
            return ""
        return (
            f"{self.rolled_from:%Y-%m-%d} is not an NYSE session; the event was rolled forward to {self.date:%Y-%m-%d}"
        )


@functools.cache
def _calendar(exchange: str = EXCHANGE) -> xcals.ExchangeCalendar:
    # exchange_calendars 4.x calls Series.values on tz-aware data, which pandas 3.1 deprecates;
    # the warning is theirs, not a fault of ours, and must not reach our users.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*drops timezone information.*")
        return xcals.get_calendar(exchange, start="1990-01-02")


def sessions(start: object, end: object, exchange: str = EXCHANGE) -> pd.DatetimeIndex:
    """NYSE sessions from ``start`` to ``end`` inclusive, as naive dates."""
    cal = _calendar(exchange)
    lo = max(pd.Timestamp(start), cal.first_session)
    hi = min(pd.Timestamp(end), cal.last_session)
    if lo > hi:  # wholly outside the calendar's years (or an empty range)
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    return pd.DatetimeIndex(cal.sessions_in_range(lo, hi), name="date")


def roll_event_date(date: object, exchange: str = EXCHANGE) -> EventDay:
    """The event's session: ``date`` itself, or the next session after a weekend or holiday.

    >>> roll_event_date("2025-01-25").date.date()
    datetime.date(2025, 1, 27)
    """
    cal = _calendar(exchange)
    ts = pd.Timestamp(date).normalize()
    _within(cal, ts, exchange)
    if cal.is_session(ts):
        return EventDay(ts)
    return EventDay(pd.Timestamp(cal.date_to_session(ts, direction="next")), rolled_from=ts)


def _within(cal: xcals.ExchangeCalendar, ts: pd.Timestamp, exchange: str) -> None:
    if ts < cal.first_session or ts > cal.last_session:
        raise CalendarError(
            f"{ts:%Y-%m-%d} is outside the {exchange} calendar "
            f"({cal.first_session:%Y-%m-%d} .. {cal.last_session:%Y-%m-%d})"
        )


def session_offset(date: object, offset: int, exchange: str = EXCHANGE) -> pd.Timestamp:
    """The session ``offset`` sessions after the session ``date`` (negative: before)."""
    cal = _calendar(exchange)
    return pd.Timestamp(cal.session_offset(pd.Timestamp(date), offset))


def offset_of(event: object, date: object, exchange: str = EXCHANGE) -> int:
    """How many sessions ``date`` lies after the session ``event`` (negative: before).

    ``date`` is rolled back to the last session on or before it, so a window may end on a
    calendar date such as "6 February 2025"."""
    cal = _calendar(exchange)
    _within(cal, pd.Timestamp(date), exchange)
    _within(cal, pd.Timestamp(event), exchange)
    day = pd.Timestamp(cal.date_to_session(pd.Timestamp(date), direction="previous"))
    ev = pd.Timestamp(event)
    lo, hi = sorted((ev, day))
    n = len(cal.sessions_in_range(lo, hi)) - 1
    return int(np.sign((day - ev).days) * n)
