"""Fama–French factor files as Ken French's library serves them (text lines above the header,
YYYYMMDD dates, percent, an annual block and a copyright line below), or tidy ones (a date
column and the factors by name): the daily factor tables the models read, in percent."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ...errors import DataFileError
from . import table

# Ken French's column names → ours
NAMES = {"mkt-rf": "mkt_rf", "mkt_rf": "mkt_rf", "smb": "smb", "hml": "hml", "rmw": "rmw", "cma": "cma", "rf": "rf"}
NAMES |= {"mom": "mom", "umd": "mom", "wml": "mom"}
ROW = re.compile(r"^\s*(\d{6}|\d{8})\s*,")
MISSING = (-99.99, -999.0)


def read_factors(path: Path, date_format: str = "") -> dict[str, pd.DataFrame]:
    """The tables in ``path`` by kind (``ff3``, ``ff5``, ``mom``), indexed by date, in percent
    (a tidy file's dates in ``date_format`` too: :func:`~eventstudy.data.files.table.parse_dates`)."""
    columns, rows = _french(path) if not table.is_parquet(path) else (None, None)
    if columns is None:
        frame = _tidy(path, date_format)
    else:
        frame = _frame(path, columns, rows)
    return _kinds(path, frame)


def _french(path: Path) -> tuple[list[str] | None, list[list[str]] | None]:
    """The first block of a Ken French file: its header and its dated rows (stopping at the first
    line that is neither: the annual block, the copyright); ``(None, None)`` for a tidy file."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DataFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    for i, line in enumerate(lines):
        if ROW.match(line):
            head = lines[i - 1] if i else ""
            cells = [c.strip() for c in head.split(",")]
            if not cells or cells[0] != "" and not cells[0].lower().startswith("date"):
                return None, None
            rows = []
            for data in lines[i:]:
                if not ROW.match(data):
                    break
                rows.append([c.strip() for c in data.split(",")])
            return cells[1:], rows
    return None, None


def _frame(path: Path, columns: list[str], rows: list[list[str]]) -> pd.DataFrame:
    width = {len(r) for r in rows}
    if width != {len(columns) + 1}:
        raise DataFileError(path, f"rows of {sorted(width)} cells under a header of {len(columns) + 1}: truncated?")
    if len(rows[0][0]) == 6:
        raise DataFileError(
            path, "is a monthly factor file (dates YYYYMM): a daily design needs the daily file (…_daily.CSV)"
        )
    frame = pd.DataFrame([r[1:] for r in rows], columns=[c.lower() for c in columns])
    frame.index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], format="%Y%m%d"), name="date")
    return frame.apply(pd.to_numeric, errors="coerce")


def _tidy(path: Path, date_format: str) -> pd.DataFrame:
    """A table with a date column and factor columns (percent; decimals are converted)."""
    cols = table.header(path)
    dates = [c for c in cols if c.lower() in ("date", "dates", "caldt")]
    if not dates:
        raise DataFileError(path, _unknown(cols))
    frame = table.read(path, cols)
    frame.index = pd.DatetimeIndex(table.dates(path, frame, dates[0], date_format), name="date")
    frame = frame.drop(columns=[dates[0], table.ROW], errors="ignore").apply(pd.to_numeric, errors="coerce")
    frame.columns = [c.lower().strip() for c in frame.columns]
    market = [c for c in frame if NAMES.get(c) == "mkt_rf"]
    if market and frame[market[0]].abs().median() < 0.05:  # decimals: the models read percent
        frame = frame * 100.0
    return frame


def _unknown(cols) -> str:
    return (
        "is a factor file in a layout eventstudy does not know: expected Ken French's file as downloaded (a header "
        "such as ',Mkt-RF,SMB,HML,RF' over YYYYMMDD rows) or a table with a date column and factor columns; "
        f"columns: {', '.join(map(str, list(cols)[:12]))}"
    )


def _kinds(path: Path, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    frame = frame.rename(columns=lambda c: NAMES.get(c.strip().lower(), c.strip().lower()))
    for bad in MISSING:
        frame = frame.mask(frame == bad)
    have = set(frame.columns)
    out = {}
    if {"mkt_rf", "smb", "hml", "rf"} <= have:
        kind = "ff5" if {"rmw", "cma"} <= have else "ff3"
        cols = ["mkt_rf", "smb", "hml", *(["rmw", "cma"] if kind == "ff5" else []), "rf"]
        out[kind] = frame[cols]
        if kind == "ff5":
            out.setdefault("ff3", frame[["mkt_rf", "smb", "hml", "rf"]])
    if "mom" in have:
        out["mom"] = frame[["mom"]]
    if not out:
        raise DataFileError(path, _unknown(frame.columns))
    if frame.index.has_duplicates:
        raise DataFileError(path, f"the date {frame.index[frame.index.duplicated()][0]:%Y-%m-%d} appears twice")
    return out
