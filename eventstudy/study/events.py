"""Firm-events from a table: each event's day 0 set by the same rules as a study's date.

A row is a firm-event: ``ticker``, ``date`` and optionally ``time`` (``before_open``,
``during`` or ``after_close``: news after the close reaches prices on the next session),
``event_id`` (default ``<ticker>:<date>``) and any further columns (groups, characteristics),
which are kept. A date that is not a session rolls forward to the next session, and the event
says so in its ``note``; a row that cannot be used is listed with its reason; two rows for one
event are refused, never silently merged. The events come out in one order — by day 0, firm
and id — whatever the order of the table's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.calendar import sessions
from ..core.tables import count_of
from ..errors import first_few

TIMES = ("before_open", "during", "after_close")
# the earnings calendars' codes of the same times (before market open, during market hours or
# trading, after market close), read as the times they name, in any case as the names are
TIME_CODES = {"bmo": "before_open", "dmh": "during", "dmt": "during", "amc": "after_close"}
REQUIRED = ("ticker", "date")
ROLES = ("ticker", "date", "time", "event_id")  # the columns a study file's [events.columns] may name


@dataclass(frozen=True)
class EventTable:
    """``events``: ``event_id, ticker, event_date`` (day 0, a session), ``given_date``,
    ``time``, ``note`` and the table's other columns; ``rejected``: ``row, event_id, ticker,
    reason`` for rows that could not be used (``row`` counts from 1, as a spreadsheet does)."""

    events: pd.DataFrame
    rejected: pd.DataFrame

    def summary(self) -> str:
        rolled = int((self.events.note != "").sum())
        dates = self.events.event_date.nunique()
        return (
            f"{len(self.events)} firm-events on {dates} dates ({rolled} rolled to a later session), "
            f"{len(self.rejected)} rejected"
        )


def named_columns(header: Sequence[object], columns: Mapping[str, str]) -> dict[str, str]:
    """The renaming (the file's column → its role) of the columns that ``columns`` (role → a
    column of the file, matched without regard to case, as ``[data.columns]`` matches) names,
    so that a file whose firms are in ``permno`` and days in ``event_date`` is read as it is.
    Raises ``ValueError`` for a role eventstudy does not know, a column the file lacks, or a
    role the file already has under its own name besides the column named for it."""
    names = [str(c) for c in header]
    lower = {c.lower(): c for c in names}
    renames: dict[str, str] = {}
    for role, column in columns.items():
        if role not in ROLES:
            raise ValueError(f"[events.columns] {role} is not a column eventstudy reads (it reads {', '.join(ROLES)})")
        found = lower.get(column.lower())
        if found is None:
            raise ValueError(f"[events.columns] {role} = {column!r} is not a column (columns: {', '.join(names[:20])})")
        if found in renames:
            raise ValueError(f"[events.columns] names the column {found!r} for both {renames[found]} and {role}")
        renames[found] = role
    after = [renames.get(c, c) for c in names]
    twice = sorted({c for c in after if after.count(c) > 1})
    if twice:
        raise ValueError(
            f"the file has a column {twice[0]!r} besides the one [events.columns] names for it: rename one, or "
            f"leave {twice[0]} out of [events.columns]"
        )
    return renames


_ISO = r"\d{4}-\d{2}-\d{2}"
RESERVED = ("event_date", "given_date", "note", "market_value_bn", "shares_flag", "quality")


def parse_dates(values: pd.Series, date_format: str = "") -> tuple[pd.Series, pd.Series]:
    """Each cell's day (NaT where it cannot be read) and why not ("" where it was), one way for
    every row: ``YYYY-MM-DD`` or ``YYYYMMDD``, or exactly ``date_format`` when one is given
    (``%d/%m/%Y``). Never a guess per row: "12/08/2024" is 12 August or 8 December, so without
    a format it is refused. A time of day or a time zone is refused (the day goes in ``date``,
    the time in ``time``)."""
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    why = pd.Series("", index=values.index, dtype=object)
    missing = text.isna() | (text == "")
    why[missing] = "the date is missing"
    if date_format:
        parsed = pd.to_datetime(text.where(~missing), format=date_format, errors="coerce")
        bad = ~missing & parsed.isna()
        why[bad] = "the date " + text[bad].fillna("") + f" is not a date in the format {date_format}"
        _place(out, why, text, ~missing & ~bad, parsed)
        return out, why
    shapes = {
        "%Y-%m-%d": text.str.fullmatch(_ISO).fillna(False),
        "%Y%m%d": text.str.fullmatch(r"\d{8}").fillna(False),
    }
    for fmt, rows in shapes.items():
        parsed = pd.to_datetime(text.where(rows), format=fmt, errors="coerce")
        _place(out, why, text, rows, parsed)
    timed = text.str.fullmatch(_ISO + r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?").fillna(False)
    zoned = text.str.fullmatch(_ISO + r"([T ].*)?(Z|[+-]\d{2}:?\d{2})").fillna(False)
    other = ~missing & ~shapes["%Y-%m-%d"] & ~shapes["%Y%m%d"]
    why[other] = (
        "the date " + text[other].fillna("") + " is not YYYY-MM-DD (or YYYYMMDD): set [events] date_format to read "
        'dates written another way (e.g. "%d/%m/%Y")'
    )
    why[timed] = "the date carries a time of day: give the day in date and before_open/during/after_close in time"
    why[zoned] = (
        "the date carries a time zone: give the exchange's day in date and before_open/during/after_close in time"
    )
    return out, why


EARLIEST, LATEST = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-12-31")


def _place(out: pd.Series, why: pd.Series, text: pd.Series, rows: pd.Series, parsed: pd.Series) -> None:
    """Put the ``rows``' parsed dates in ``out``; one that cannot be read, or is beyond any
    exchange calendar (9999-12-31), gets its reason instead."""
    rows = rows.fillna(False).astype(bool)
    bad = rows & parsed.isna()
    why[bad] = "the date " + text[bad].fillna("") + " is not a calendar date"
    inside = rows & parsed.notna()
    far = inside & ((parsed < EARLIEST) | (parsed > LATEST))
    why[far] = "the date " + text[far].fillna("") + " is outside the exchange calendar"
    keep = inside & ~far
    out[keep] = parsed[keep].astype("datetime64[ns]")


def build_events(
    table: pd.DataFrame,
    *,
    exchange: str = "XNYS",
    issuer: Mapping[str, str] | None = None,
    not_firms: Mapping[str, str] | None = None,
    date_format: str = "",
    columns: Mapping[str, str] | None = None,
    fold_case: bool = False,
) -> EventTable:
    """Day 0 of every row of ``table`` (see the module docstring); raises ``ValueError`` for a
    table without the required columns or with repeated events. ``columns`` names the table's
    own columns for ``ticker``, ``date``, ``time`` or ``event_id`` (``{"ticker": "permno"}``, as
    a study file's ``[events.columns]``: :func:`named_columns`).

    A ticker that is not a firm — an index (``^IXIC``) or one that ``not_firms`` names with its
    reason (an ETF) — makes its row rejected; ``issuer`` maps a listing to the one that stands
    for its issuer (GOOG → GOOGL: an issuer counts once), said in the event's note, so that two
    rows of one issuer on one day 0 are repeated events. With ``fold_case`` tickers are read without
    regard to case, as yfinance and a names file read them (``aapl`` is AAPL). Dates are read by
    :func:`parse_dates`."""
    if columns:
        table = table.rename(columns=named_columns(table.columns, columns))
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"an events table needs the columns {list(REQUIRED)}; missing {missing}")
    taken = [c for c in RESERVED if c in table.columns]
    if taken:
        raise ValueError(f"the column(s) {taken} are names eventstudy writes for each event: rename them")
    if table.empty:
        raise ValueError("it holds no event (a header and no rows)")
    frame = table.reset_index(drop=True).copy()
    row = np.arange(1, len(frame) + 1)
    ticker = frame["ticker"].astype("string").str.strip()
    ticker = ticker.str.upper() if fold_case else ticker
    given, date_why = parse_dates(frame["date"], date_format)
    written = (
        frame["time"].fillna("before_open").astype(str).str.strip()
        if "time" in frame
        else pd.Series("before_open", index=frame.index)
    )
    time = written.str.lower().replace(TIME_CODES)
    reasons = pd.Series("", index=frame.index, dtype=object)
    reasons[ticker.isna() | (ticker == "")] = "no ticker"
    reasons[(reasons == "") & ticker.str.startswith("^").fillna(False)] = "an index, not a firm"
    for t, why in (not_firms or {}).items():
        reasons[(reasons == "") & (ticker == t).fillna(False)] = why
    dated = (reasons == "") & (date_why != "")
    reasons[dated] = date_why[dated]
    bad_time = (reasons == "") & ~time.isin(TIMES)
    reasons[bad_time] = "time must be one of " + ", ".join(TIMES) + " (or BMO, DMH, AMC): got " + written[bad_time]
    if "event_id" in frame:
        blank = (reasons == "") & (frame["event_id"].astype("string").str.strip().fillna("") == "")
        reasons[blank] = "the event_id is empty (leave the column out for ticker:date ids)"
    ok = reasons == ""
    day0 = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    note = pd.Series("", index=frame.index, dtype=object)
    if ok.any():
        d0, nt, out = _day0(given[ok], time[ok], exchange)
        day0[ok], note[ok] = d0, nt
        reasons[ok & out] = "the date is outside the exchange calendar"
    ok = reasons == ""
    if "event_id" in frame:
        event_id = frame["event_id"].astype("string")
    else:  # ticker:YYYY-MM-DD, or the date as written where it could not be read
        raw = frame["date"].astype("string").str.strip().fillna("")
        event_id = ticker.fillna("") + ":" + given.dt.strftime("%Y-%m-%d").fillna(raw)
    if issuer:
        listed = ticker.map(lambda t: issuer.get(t, t) if isinstance(t, str) else t).astype("string")
        moved = ok & (listed != ticker).fillna(False)
        said = ticker[moved] + " is measured as its issuer's listing " + listed[moved] + " (an issuer counts once)"
        note[moved] = np.where(note[moved] == "", said, note[moved] + "; " + said)
        ticker = ticker.where(~ok, listed)
    rejected = pd.DataFrame(
        {"row": row[~ok], "event_id": event_id[~ok], "ticker": ticker[~ok], "reason": reasons[~ok]}
    ).reset_index(drop=True)
    rest = frame.drop(columns=[c for c in ("ticker", "date", "time", "event_id") if c in frame])
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "event_id": event_id,
                    "ticker": ticker,
                    "event_date": day0,
                    "given_date": given,
                    "time": time,
                    "note": note,
                }
            ),
            rest,
        ],
        axis=1,
    )[ok.to_numpy()]
    _refuse_repeats(events, row[ok])
    # one order whatever the file's: by day 0, firm and id (results do not depend on the rows' order)
    events = events.sort_values(["event_date", "ticker", "event_id"], kind="stable")
    return EventTable(events.reset_index(drop=True), rejected)


def _day0(given: pd.Series, time: pd.Series, exchange: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The first session on or after the date (after the next session for ``after_close``),
    a note where it is not the date itself, and which dates fall outside the calendar."""
    days = sessions(given.min() - pd.Timedelta(days=7), given.max() + pd.Timedelta(days=14), exchange)
    at = days.searchsorted(given.to_numpy())
    on_session = (at < len(days)) & (days.take(np.minimum(at, len(days) - 1)) == given.to_numpy())
    after = (time == "after_close").to_numpy()
    at = at + (after & on_session)
    out = (at >= len(days)) | (given.to_numpy() < days[0])
    day0 = pd.Series(days.take(np.minimum(at, len(days) - 1)), index=given.index).where(~out)
    note = pd.Series("", index=given.index, dtype=object)
    rolled = ~out & ~on_session
    note[rolled] = (
        given[rolled].dt.strftime("%Y-%m-%d (%a)")
        + " is not a session: day 0 is "
        + day0[rolled].dt.strftime("%Y-%m-%d")
    )
    late = ~out & on_session & after
    note[late] = "after the close: day 0 is the next session, " + day0[late].dt.strftime("%Y-%m-%d")
    return day0, note, pd.Series(out, index=given.index)


def _refuse_repeats(events: pd.DataFrame, rows: np.ndarray, shown: int = 3) -> None:
    """Refuse a file that gives one firm-event twice, naming each repeated one (the first
    ``shown``) with its rows."""
    for keys, what in ((["event_id"], "event_id"), (["ticker", "event_date"], "ticker and day 0")):
        dup = events.duplicated(keys, keep=False).to_numpy()
        if dup.any():
            repeated = events[dup].assign(row=rows[dup]).groupby(keys, sort=False).row
            said = []
            for key, at in repeated:
                name = key[0] if what == "event_id" else f"{key[0]} on {key[1]:%Y-%m-%d}"
                said.append(f"{name} on rows {first_few(at.tolist(), 6)}")
            raise ValueError(
                f"repeated events: {dup.sum()} rows for {count_of(repeated.ngroups, 'firm-event')} (by {what}): "
                f"{first_few(said, shown, sep='; ')}; "
                "each firm-event must appear once"
            )
