"""A returns file read for a study: the rows of its securities over its span, checked (dates,
duplicates, frequency, units, sessions), CRSP's missing-return codes made missing, and CRSP's
delisting returns compounded into the last return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...core.calendar import describe, sessions
from ...errors import DataFileError
from . import table
from .spec import PERFORMANCE_CODES, SHUMWAY_RETURN, DataSpec, Layout

# CRSP writes a missing return as a letter (A–E, S, T, P in the delisting file) in exports and
# as -44 ... -99 in its own files: both mean "no valid return"
MISSING_CODES = {-44.0, -55.0, -66.0, -77.0, -88.0, -99.0}
MIN_CHECKED = 20  # fewer returns than this are too few to judge units or frequency


@dataclass(frozen=True)
class Returns:
    """The rows read: ``frame`` with ``id, date, ret`` (decimals) and the layout's other roles,
    the notes (codes made missing, delistings), how many rows were read."""

    frame: pd.DataFrame
    notes: tuple[str, ...]
    rows_read: int


def numbers(values: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """Numeric values, and how many of each non-numeric code (or CRSP missing-value number)
    became missing."""
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype("string").str.strip()
        out = pd.to_numeric(text, errors="coerce")
        codes = text[out.isna() & text.notna() & (text != "") & (text.str.upper() != "NAN")]
    else:
        out, codes = pd.to_numeric(values, errors="coerce"), pd.Series(dtype="string")
    coded = out.isin(MISSING_CODES)
    counts = codes.value_counts().to_dict() | {f"{v:g}": int(n) for v, n in out[coded].value_counts().items()}
    return out.where(~coded).astype("float64"), {str(k): int(v) for k, v in counts.items()}


def read_returns(
    spec: DataSpec, layout: Layout, ids: list[str] | None, start: pd.Timestamp, end: pd.Timestamp, exchange: str
) -> Returns:
    """Rows of ``ids`` from ``start`` to ``end``, checked and in decimals (see the module)."""
    path, cols = spec.returns, layout.columns
    if layout.wide:
        frame, cols = _melted(path, cols["date"], ids, start, end), cols | WIDE_ROLES
    else:
        frame = table.read(path, list(dict.fromkeys(cols.values())), cols["id"], ids, (cols["date"], start, end))
        frame = frame.rename(columns={v: k for k, v in cols.items()})
    rows_read = len(frame)
    frame["date"] = table.dates(path, frame, "date", spec.date_format, key="id", name=cols["date"])
    frame = frame[(frame.date >= start) & (frame.date <= end)].reset_index(drop=True)
    frame["ret"], codes = numbers(frame["ret"])
    for role in ("price", "volume", "shares", "open", "high", "low"):
        if role in frame:
            frame[role] = numbers(frame[role])[0]
    notes = []
    if codes:
        listed = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))
        notes.append(f"{path.name}: {sum(codes.values())} returns are CRSP missing-value codes ({listed}): missing")
    _no_duplicates(path, frame, cols)
    _daily(path, frame, cols)
    frame["ret"] = _in_units(path, frame, cols, spec.units)
    _sessions_only(path, frame, cols, exchange)
    if spec.delisting is not None:
        frame, said = compound_delistings(frame, read_delistings(spec.delisting, ids), spec)
        notes += said
    return Returns(frame.sort_values(["id", "date"], ignore_index=True), tuple(notes), rows_read)


WIDE_ROLES = {"id": "", "ret": ""}  # a wide file's identifiers are its column names; its values the returns


def _melted(path: Path, date: str, ids: list[str] | None, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """A wide file's columns of ``ids`` (every column but the dates when None) as long rows
    ``date, id, ret`` (and each CSV row's line): only those columns are read."""
    names = [c for c in table.header(path) if c != date]
    wanted = None if ids is None else set(map(str, ids))
    keep = [c for c in names if wanted is None or c.strip() in wanted]
    frame = table.read(path, [date, *keep], span=(date, start, end))
    lines = [table.ROW] if table.ROW in frame else []
    long = frame.melt(id_vars=[date, *lines], value_vars=keep, var_name="id", value_name="ret")
    long["id"] = long["id"].str.strip()
    return long.rename(columns={date: "date"})


def _no_duplicates(path: Path, frame: pd.DataFrame, cols: dict[str, str]) -> None:
    twice = frame.duplicated(["id", "date"], keep=False).to_numpy()
    if twice.any():
        i = np.flatnonzero(twice)[0]
        rows = frame[(frame.id == frame.id.iloc[i]) & (frame.date == frame.date.iloc[i])]
        lines = "lines " + ", ".join(map(str, rows[table.ROW])) if table.ROW in rows else f"{len(rows)} rows"
        raise DataFileError(
            path,
            f"{int(twice.sum())} rows repeat an (identifier, date): {cols['id'] or 'column'} {frame.id.iloc[i]} on "
            f"{frame.date.iloc[i]:%Y-%m-%d} appears {len(rows)} times ({lines}); keep one row per security and day",
            cols["id"] or cols["date"],
            table.where(frame, i, "id", "date"),
        )


def _daily(path: Path, frame: pd.DataFrame, cols: dict[str, str]) -> None:
    """A file of monthly (or weekly) returns is refused: the designs count sessions."""
    ordered = frame.sort_values(["id", "date"])
    gaps = ordered.date.diff().dt.days[ordered.id.eq(ordered.id.shift())]
    if len(gaps) >= MIN_CHECKED and gaps.median() > 5:
        raise DataFileError(
            path,
            f"the returns look monthly or weekly, not daily: the median gap between a security's dates is "
            f"{gaps.median():.0f} days; a daily design needs daily returns (CRSP's dsf, not msf)",
            cols["date"],
        )


PERCENT_MEDIAN = 0.2  # a median |daily return| above this is percent given as decimals (decimals: ~0.01)
DECIMAL_MEDIAN = 0.05  # one below this is decimals given as percent (percent: ~1)


def other_units(median: float, units: str) -> str:
    """The units a column of daily returns is in by its median |value| (as the file writes it),
    where they are not ``units``: "percent", "decimals", or "" when they are."""
    if units == "decimal" and median > PERCENT_MEDIAN:
        return "percent"
    if units == "percent" and median < DECIMAL_MEDIAN:
        return "decimals"
    return ""


def refuse_other_units(path: Path, median: float, units: str, name: str) -> None:
    """A market series (``median``: its median |value| as the file writes it) in other units
    than ``units``, which the returns file has passed: the two files are written alike."""
    if other := other_units(median, units):
        raise DataFileError(
            path,
            f"the market series {name!r} looks like {other} (median |{name}| is {median:.4g}), but the returns "
            f"are read with units = \"{units}\": [data] units is the returns' and the market file's; write the "
            "market series in the returns' units",
            name,
        )


def _in_units(path: Path, frame: pd.DataFrame, cols: dict[str, str], units: str) -> pd.Series:
    """Returns in decimals; a column that looks like prices, or percent given as decimals (or
    the reverse), is refused with what to set."""
    ret = frame["ret"]
    have = ret.dropna().abs()
    if len(have) >= MIN_CHECKED:
        med, positive = float(have.median()), float((ret.dropna() > 0).mean())
        if positive > 0.95 and med > 1.0:
            named = " (name the return column in [data.columns] ret = ...)" if cols["ret"] else ", one per column"
            raise DataFileError(
                path,
                f"the returns look like prices, not returns: {positive:.0%} are positive and the median is {med:.4g}; "
                f"give daily returns{named}",
                cols["ret"],
            )
        other = other_units(med, units)
        if other == "percent":
            raise DataFileError(
                path, f'returns look like percent: median |ret| is {med:.1f}; set units = "percent"', cols["ret"]
            )
        if other == "decimals":
            raise DataFileError(
                path,
                f'units = "percent", but the returns look like decimals: median |ret| is {med:.4f}; remove units',
                cols["ret"],
            )
    out = ret / 100.0 if units == "percent" else ret
    below = np.flatnonzero((out < -1.0).to_numpy())
    if len(below):
        i = below[0]
        raise DataFileError(
            path,
            f"a return of {ret.iloc[i]:g} is below −100 % ({len(below)} such rows): not a return",
            cols["ret"] or frame.id.iloc[i],
            table.where(frame, i, "id", "date"),
        )
    return out


def _sessions_only(path: Path, frame: pd.DataFrame, cols: dict[str, str], exchange: str) -> None:
    if frame.empty:
        return
    days = sessions(frame.date.min(), frame.date.max(), exchange)
    off = np.flatnonzero(~frame.date.isin(days).to_numpy())
    if len(off):
        i = off[0]
        day = frame.date.iloc[i]
        raise DataFileError(
            path,
            f"{day:%Y-%m-%d} ({day:%A}) is not {describe(exchange)} ({len(off)} rows on such dates): the data and "
            "the calendar disagree; set [data] calendar to the data's exchange (or \"data\": the market file's dates)",
            cols["date"],
            table.where(frame, i, "id", "date"),
        )


DELISTING = {"id": "permno", "date": "dlstdt", "dlret": "dlret", "code": "dlstcd"}


def read_delistings(path: Path, ids: list[str]) -> pd.DataFrame:
    """CRSP's delisting file (``PERMNO, DLSTDT, DLRET``, optional ``DLSTCD``) for ``ids``:
    ``id, date, dlret, code``; a DLRET code (A, S, T, P) is a missing DLRET."""
    lower = {c.lower(): c for c in table.header(path)}
    missing = [c for r, c in DELISTING.items() if r != "code" and c not in lower]
    if missing:
        raise DataFileError(path, f"a delisting file has PERMNO, DLSTDT and DLRET; it lacks {', '.join(missing)}")
    roles = {r: lower[c] for r, c in DELISTING.items() if c in lower}
    frame = table.read(path, list(roles.values()), roles["id"], ids).rename(columns={v: k for k, v in roles.items()})
    frame["date"] = table.dates(path, frame, "date", key="id", name=roles["date"])
    frame["dlret"] = numbers(frame["dlret"])[0]
    frame["code"] = numbers(frame["code"])[0] if "code" in frame else np.nan
    return frame[["id", "date", "dlret", "code"]]


def compound_delistings(frame: pd.DataFrame, delist: pd.DataFrame, spec: DataSpec) -> tuple[pd.DataFrame, list[str]]:
    """Each delisting return compounded into the security's last return on or before its
    delisting date (CRSP: the date of the last price on the exchange): (1 + RET)(1 + DLRET) − 1,
    DLRET alone when RET is missing; a performance delisting (codes 500, 520–584) without DLRET
    takes ``spec.performance_delisting_return`` when set, else stays missing and is said."""
    frame = frame.copy()
    if "delisted" not in frame:
        frame["delisted"] = ""
    notes, replaced, unreplaced = [], 0, 0
    inside = delist[(delist.date >= frame.date.min()) & (delist.date <= frame.date.max())] if len(frame) else delist[:0]
    for d in inside.itertuples():
        rows = frame.index[(frame.id == d.id) & (frame.date <= d.date)]
        dl = d.dlret
        if np.isnan(dl) and d.code in PERFORMANCE_CODES:
            if spec.performance_delisting_return is None:
                unreplaced += 1
                continue
            dl, replaced = spec.performance_delisting_return, replaced + 1
        if np.isnan(dl) or not len(rows):
            continue
        last = rows[-1]
        ret = frame.at[last, "ret"]
        frame.at[last, "ret"] = dl if np.isnan(ret) else (1 + ret) * (1 + dl) - 1
        frame.at[last, "delisted"] = f"delisted {d.date:%Y-%m-%d} (code {d.code:g}), DLRET {dl:g}"
    name = spec.delisting.name
    if replaced:
        notes.append(
            f"{name}: {replaced} performance delisting(s) without DLRET take {spec.performance_delisting_return:g} "
            "(performance_delisting_return)"
        )
    if unreplaced:
        notes.append(
            f"{name}: {unreplaced} performance delisting(s) (codes 500, 520–584) have no DLRET: their last return "
            f"is left without it; Shumway (1997) uses {SHUMWAY_RETURN:g} (set performance_delisting_return)"
        )
    return frame, notes
