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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import sessions

TIMES = ("before_open", "during", "after_close")
REQUIRED = ("ticker", "date")


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


def build_events(
    table: pd.DataFrame,
    *,
    exchange: str = "XNYS",
    issuer: Mapping[str, str] | None = None,
    not_firms: Mapping[str, str] | None = None,
) -> EventTable:
    """Day 0 of every row of ``table`` (see the module docstring); raises ``ValueError`` for a
    table without the required columns or with repeated events.

    A ticker that is not a firm — an index (``^IXIC``) or one that ``not_firms`` names with its
    reason (an ETF) — makes its row rejected; ``issuer`` maps a listing to the one that stands
    for its issuer (GOOG → GOOGL: an issuer counts once), said in the event's note, so that two
    rows of one issuer on one day 0 are repeated events."""
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"an events table needs the columns {list(REQUIRED)}; missing {missing}")
    frame = table.reset_index(drop=True).copy()
    row = np.arange(1, len(frame) + 1)
    ticker = frame["ticker"].astype("string").str.strip()
    given = pd.to_datetime(frame["date"].astype("string"), errors="coerce", format="mixed")
    time = (
        frame["time"].fillna("before_open").astype(str).str.strip()
        if "time" in frame
        else pd.Series("before_open", index=frame.index)
    )
    reasons = pd.Series("", index=frame.index, dtype=object)
    reasons[ticker.isna() | (ticker == "")] = "no ticker"
    reasons[(reasons == "") & ticker.str.startswith("^").fillna(False)] = "an index, not a firm"
    for t, why in (not_firms or {}).items():
        reasons[(reasons == "") & (ticker == t).fillna(False)] = why
    reasons[(reasons == "") & given.isna()] = "the date is missing or not a date"
    bad_time = (reasons == "") & ~time.isin(TIMES)
    reasons[bad_time] = "time must be one of " + ", ".join(TIMES) + ": got " + time[bad_time]
    timed = (reasons == "") & given.notna() & (given != given.dt.normalize())
    reasons[timed] = "the date carries a time of day: give the day in date and before_open/during/after_close in time"
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
    else:
        event_id = ticker + ":" + given.dt.strftime("%Y-%m-%d")
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


def _refuse_repeats(events: pd.DataFrame, rows: np.ndarray) -> None:
    for keys, what in ((["event_id"], "event_id"), (["ticker", "event_date"], "ticker and day 0")):
        dup = events.duplicated(keys, keep=False).to_numpy()
        if dup.any():
            first = events[dup].iloc[0]
            where = ", ".join(str(r) for r in rows[dup][:6])
            name = first.event_id if what == "event_id" else f"{first.ticker} on {first.event_date:%Y-%m-%d}"
            raise ValueError(
                f"repeated events: {dup.sum()} rows (rows {where}) share one {what} ({name}); "
                "each firm-event must appear once"
            )
