"""Trading sessions: event days, rolls off weekends and holidays, and session offsets.

Positions relative to an event are counted in exchange sessions (``exchange_calendars``' XNYS by
default, any of its codes on request: XLON, XETR, XTKS, ...), never in calendar or pandas
business days: a Monday event's day −1 is the Friday before, and market closures such as
9 January 2025 (national day of mourning) are not sessions. A study on its own data may count
in the dates of its market series instead (:func:`register_sessions`).

An exchange's sessions are built once a process from ``exchange_calendars``' rules (importing it
and building XNYS from 1926 take about 0.25 s, pandas' holiday machinery); given a
:class:`SessionStore` (:func:`keep_sessions_in`: the command line keeps them in its cache folder),
they are kept there for the day and read back by later processes. Either way the calendar
answers from the list of sessions (:class:`_DateCalendar`), so a stored calendar answers as a
built one.
"""

from __future__ import annotations

import functools
import importlib.metadata
import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from ..errors import CalendarError

EXCHANGE = "XNYS"
FIRST_SESSIONS = {"XNYS": "1926-01-02"}
"""Where an exchange's sessions start (else :data:`FIRST_SESSION`, or its calendar's first): the NYSE's with CRSP's
daily files (``exchange_calendars`` keeps its closures back to the 19th century, the 1968
paperwork crisis among them), so a study of the 1987 crash counts its sessions as CRSP does. It has
no Saturdays, on which the NYSE also traded until 1952: a file with such rows is refused as not on
the calendar, and ``calendar = "data"`` counts them."""
FIRST_SESSION = "1990-01-02"


@dataclass(frozen=True)
class EventDay:
    """The session an event is measured from; ``rolled_from`` is the requested date if it was
    not a session (a weekend or holiday), else ``None``."""

    date: pd.Timestamp
    rolled_from: pd.Timestamp | None = None
    exchange: str = EXCHANGE

    @property
    def note(self) -> str:
        if self.rolled_from is None:
            return ""
        return (
            f"{self.rolled_from:%Y-%m-%d} is not {describe(self.exchange)}; "
            f"the event was rolled forward to {self.date:%Y-%m-%d}"
        )


def as_dates(values, what: str) -> pd.DatetimeIndex:
    """``values`` as dates (NaT kept): datetime64, date objects, or ISO 8601 text; another order
    of day and month (12/08/2024) is never guessed, and numbers (row numbers, YYYYMMDD integers,
    which pandas is about to read as epochs) are no dates. A time zone or a time of day is
    refused: a session is a day."""
    index = values if isinstance(values, pd.DatetimeIndex) else pd.Index(values)
    if not isinstance(index, pd.DatetimeIndex):
        kind = pd.api.types.infer_dtype(index, skipna=True)
        try:
            if kind == "string":
                index = pd.DatetimeIndex(pd.to_datetime(index, format="ISO8601"))
            elif kind in ("date", "datetime", "datetime64", "empty"):
                index = pd.DatetimeIndex(index)
            else:
                raise TypeError
        except (TypeError, ValueError):
            raise TypeError(
                f"{what} must be dates (datetime64, or YYYY-MM-DD text); got {index[:3].tolist()}"
            ) from None
    if index.tz is not None:
        raise ValueError(f"{what} carry a time zone ({index.tz}): give the sessions' dates without one")
    timed = index[index.notna() & (index != index.normalize())]
    if len(timed):
        raise ValueError(f"{what} carry a time of day (first {timed[0]}): a session is a day")
    return index


def describe(exchange: str) -> str:
    """How a report names a session of a calendar: "an NYSE session", "an XLON session", "a
    date of the market series" (a calendar of dates)."""
    if exchange == EXCHANGE:
        return "an NYSE session"
    if exchange in _REGISTERED:
        return "a date of the market series"
    return f"an {exchange} session" if exchange[:1] in "AEFHILMNORSX" else f"a {exchange} session"


def sessions_of(exchange: str) -> str:
    """The sessions of a calendar in the plural, as a report counts them: "NYSE sessions", "XLON
    sessions", "dates of the market series"."""
    if exchange in _REGISTERED:
        return "dates of the market series"
    return f"{'NYSE' if exchange == EXCHANGE else exchange} sessions"


class _DateCalendar:
    """Sessions given as dates (a study's market series), answering the questions the
    functions below ask of an ``exchange_calendars`` calendar."""

    def __init__(self, days: pd.DatetimeIndex) -> None:
        days = pd.DatetimeIndex(days).normalize()
        if not (days.is_monotonic_increasing and days.is_unique):
            days = pd.DatetimeIndex(sorted(set(days)))
        self.days = days.as_unit("ns")
        if len(self.days) < 2:
            raise CalendarError("a calendar of dates needs at least two dates")
        self.first_session, self.last_session = self.days[0], self.days[-1]

    def is_session(self, ts: pd.Timestamp) -> bool:
        return ts in self.days

    def date_to_session(self, ts: pd.Timestamp, direction: str) -> pd.Timestamp:
        pos = self.days.searchsorted(ts, side="left" if direction == "next" else "right")
        return self.days[min(pos, len(self.days) - 1) if direction == "next" else max(pos - 1, 0)]

    def session_offset(self, ts: pd.Timestamp, n: int, clip: bool = False) -> pd.Timestamp:
        pos = self.days.get_indexer([ts])[0]
        if pos < 0:
            raise CalendarError(f"{ts:%Y-%m-%d} is not a date of the calendar of dates")
        if clip:
            return self.days[min(max(pos + n, 0), len(self.days) - 1)]
        if not 0 <= pos + n < len(self.days):
            raise CalendarError(
                f"{n:+d} sessions from {ts:%Y-%m-%d} is outside the calendar of dates "
                f"({self.first_session:%Y-%m-%d} .. {self.last_session:%Y-%m-%d})"
            )
        return self.days[pos + n]

    def sessions_in_range(self, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DatetimeIndex:
        return self.days[(self.days >= lo) & (self.days <= hi)]


_REGISTERED: dict[str, _DateCalendar] = {}


def register_sessions(name: str, days: pd.DatetimeIndex) -> str:
    """Make ``days`` a calendar under ``name`` (the sessions of a study's own market series);
    the functions below then count in it when given ``exchange=name``. Returns the name."""
    _REGISTERED[name] = _DateCalendar(days)
    return name


class SessionStore(Protocol):
    """Where an exchange's sessions are kept between processes: ``load`` gives those saved under
    ``stamp`` (None when there are none, or others), ``save`` keeps them."""

    def load(self, code: str, stamp: str) -> pd.DatetimeIndex | None: ...

    def save(self, code: str, stamp: str, days: pd.DatetimeIndex) -> None: ...


_STORE: list[SessionStore] = []


def keep_sessions_in(store: SessionStore | None) -> None:
    """Keep the exchanges' sessions in ``store`` from now on (None: build them in each process);
    a calendar this process already holds stays as it is."""
    _STORE[:] = [] if store is None else [store]


def check_exchange(code: str) -> str:
    """``code`` when it names an ``exchange_calendars`` calendar (or a registered one), else a
    :class:`CalendarError` listing a few of the known codes."""
    if code in _REGISTERED or code == EXCHANGE:
        return code
    import exchange_calendars as xcals

    names = xcals.get_calendar_names(include_aliases=True)
    if code not in names:
        raise CalendarError(
            f"{code!r} is not an exchange calendar of exchange_calendars (for example XNYS, XNAS, XLON, XETR, "
            f"XTKS, XHKG, XTSE, XASX; {len(names)} codes in all)"
        )
    return code


def _calendar(exchange: str = EXCHANGE) -> _DateCalendar:
    if exchange in _REGISTERED:
        return _REGISTERED[exchange]
    return _exchange(exchange)


@functools.cache
def _exchange(exchange: str) -> _DateCalendar:
    """The exchange's sessions from :data:`FIRST_SESSIONS` (1990, or its calendar's first) to a year from today, as
    ``exchange_calendars`` builds them today: from the store when it kept them today with this
    version of ``exchange_calendars``, else built (and kept)."""
    if not _STORE:
        return _DateCalendar(_build(exchange))
    stamp = _stamp(exchange)
    days = _STORE[0].load(exchange, stamp)
    if days is None:
        days = _build(exchange)
        _STORE[0].save(exchange, stamp, days)
    return _DateCalendar(days)


def _stamp(exchange: str) -> str:
    """What a calendar's sessions depend on: the version of ``exchange_calendars``, the first
    session asked of it and the day (it builds them through a year from today)."""
    version = importlib.metadata.version("exchange_calendars")
    return f"exchange_calendars {version}, from {_first(exchange)}, {pd.Timestamp.now():%Y-%m-%d}"


def _first(exchange: str) -> str:
    """The first session asked of ``exchange``'s calendar (:data:`FIRST_SESSIONS`)."""
    return FIRST_SESSIONS.get(exchange, FIRST_SESSION)


def _build(exchange: str) -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    # exchange_calendars 4.x calls Series.values on tz-aware data, which pandas 3.1 deprecates;
    # the warning is theirs, not a fault of ours, and must not reach our users.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*drops timezone information.*")
        code = check_exchange(exchange)
        try:
            cal = xcals.get_calendar(code, start=_first(code))
        except ValueError:  # a calendar that starts later (XTKS: 1997) starts where it can
            cal = xcals.get_calendar(code, start=xcals.get_calendar(code).bound_min())
    return pd.DatetimeIndex(cal.sessions)


def sessions(start: object, end: object, exchange: str = EXCHANGE) -> pd.DatetimeIndex:
    """The exchange's sessions (NYSE by default) from ``start`` to ``end`` inclusive, as naive dates."""
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
        return EventDay(ts, exchange=exchange)
    return EventDay(pd.Timestamp(cal.date_to_session(ts, direction="next")), rolled_from=ts, exchange=exchange)


def _within(cal: _DateCalendar, ts: pd.Timestamp, exchange: str) -> None:
    if ts < cal.first_session or ts > cal.last_session:
        raise CalendarError(
            f"{ts:%Y-%m-%d} is outside the {exchange} calendar "
            f"({cal.first_session:%Y-%m-%d} .. {cal.last_session:%Y-%m-%d})"
        )


def session_offset(date: object, offset: int, exchange: str = EXCHANGE, clip: bool = False) -> pd.Timestamp:
    """The session ``offset`` sessions after the session ``date`` (negative: before); past the
    calendar's first or last session an error, or with ``clip`` that session (a span to read: the
    days beyond have no data either, and the firm-events that need them are excluded one by one)."""
    cal = _calendar(exchange)
    return pd.Timestamp(cal.session_offset(pd.Timestamp(date), offset, clip))


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
