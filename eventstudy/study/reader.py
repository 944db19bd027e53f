"""Typed reading of a study file's TOML tables: every problem recorded with its dotted field,
reading goes on; dates and windows."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pandas as pd

from ..core.calendar import EXCHANGE, offset_of
from ..core.windows import Window
from ..errors import CalendarError

BAD = object()  # a field whose value was wrong: its problem is recorded, reading goes on


class Reader:
    """Typed access to one TOML table. A problem is recorded (file, dotted field, why) and
    reading goes on, so that one pass lists every problem of the file."""

    def __init__(self, problems: list[tuple[str, str]], data: Any, prefix: str = "") -> None:
        self.problems, self.prefix = problems, prefix
        self.data = data if isinstance(data, dict) else {}

    def fail(self, key: str, why: str) -> None:
        self.problems.append((f"{self.prefix}{key}", why))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                self.fail(key, "is missing")
                return BAD
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(key, f"must be {names}, got {type(value).__name__} {value!r}")
            return BAD if default is ... else default
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        bad = [v for v in values if not isinstance(v, str)]
        if bad:
            self.fail(key, f"must be a list of strings, got {bad[0]!r}")
        return tuple(v for v in values if isinstance(v, str))

    def table(self, key: str, required: bool = True) -> Reader:
        value = self.get(key, dict, ... if required else {})
        return Reader(self.problems, value if isinstance(value, dict) else {}, f"{self.prefix}{key}.")

    def unknown(self, allowed: set[str]) -> None:
        for extra in sorted(set(self.data) - allowed):
            self.fail(extra, f"is not a known field (known: {', '.join(sorted(allowed))})")


def read_date(r: Reader, key: str, value: Any) -> pd.Timestamp | None:
    """A calendar date: a TOML date or a 'YYYY-MM-DD' string; a time or a time zone is refused."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            r.fail(key, f"must be a date without a time zone, got {value.isoformat()}")
            return None
        if value.time() != datetime.time():
            r.fail(key, f"must be a date (YYYY-MM-DD), not a date and time ({value.isoformat()})")
            return None
    elif not isinstance(value, str | datetime.date):
        r.fail(key, f"must be a date (YYYY-MM-DD), got {type(value).__name__} {value!r}")
        return None
    elif isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value.strip()):
        r.fail(
            key,
            f"{value!r} is not a date YYYY-MM-DD: a date in another order is never guessed (01/02/2025 is 2 January "
            "in one country and 1 February in another); write it YYYY-MM-DD",
        )
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        r.fail(key, f"is not a date ({exc})")
        return None
    if ts is pd.NaT:
        r.fail(key, f"is not a date (YYYY-MM-DD), got {value!r}")
        return None
    if ts.tz is not None or ts != ts.normalize():
        r.fail(key, f"must be a date without a time or time zone, got {value!r}")
        return None
    return ts


def read_window(
    r: Reader, key: str, value: Any, event: pd.Timestamp | None, dates: dict[str, str], exchange: str = EXCHANGE
) -> Window | None:
    if isinstance(value, dict):
        w = Reader(r.problems, value, f"{r.prefix}{key}.")
        w.unknown({"label", "start", "end"})
        start, end, label = w.get("start", int), w.get("end", (int, str)), w.get("label", str)
        if BAD in (start, end, label):
            return None
        if isinstance(end, str) and event is None:
            w.fail("end", "a window may end on a date only in a study with one event date")
            return None
        if isinstance(end, str):
            day = read_date(w, "end", end)
            try:
                offset = offset_of(event, day, exchange) if day is not None else None
            except CalendarError as exc:
                w.fail("end", str(exc))
                offset = None
            if offset is None:
                return None
            dates[label], end = end, offset
        value, text = [start, end], label
    else:
        text = ""
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        r.fail(key, f"must be [start, end] in sessions, got {value!r}")
        return None
    try:
        return Window(*value, text)
    except ValueError as exc:
        r.fail(key, str(exc))
        return None
