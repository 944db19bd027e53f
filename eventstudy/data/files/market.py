"""A market file: a date column and one or more market series (CRSP's index file: ``vwretd``,
``ewretd``, ``sprtrn``; or any), in the returns' units."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...core.tables import count_of
from ...errors import DataFileError
from . import table
from .returns import refuse_other_units

DATES = ("date", "caldt", "dlycaldt", "mthcaldt")


def read_market(path: Path, units: str, date_format: str = "") -> pd.DataFrame:
    """Dates × series (lower-case names) in decimals."""
    cols = table.header(path)
    date = next((c for c in cols if c.lower() in DATES), None)
    if date is None:
        raise DataFileError(path, f"a market file has a date column ({', '.join(DATES)}); columns: {', '.join(cols)}")
    frame = table.read(path, cols)
    dates = table.dates(path, frame, date, date_format)
    series = frame.drop(columns=[date, table.ROW], errors="ignore").apply(pd.to_numeric, errors="coerce")
    series.columns = [c.lower() for c in series.columns]
    series.index = pd.DatetimeIndex(dates, name="date")
    if series.index.has_duplicates:
        day = series.index[series.index.duplicated()][0]
        raise DataFileError(path, f"the date {day:%Y-%m-%d} appears twice", date)
    series = series.sort_index()
    return series / 100.0 if units == "percent" else series


def check_series(path: Path, market: pd.DataFrame, name: str, need: pd.DatetimeIndex, units: str) -> pd.Series:
    """Series ``name`` on the sessions ``need``: a missing series, or a session without a value,
    is an error naming the file, the column and the dates."""
    if name not in market:
        raise DataFileError(
            path, f"has no market series {name!r} (model.benchmark); its series: {', '.join(market.columns)}"
        )
    s = market[name].reindex(need)
    gone = s.index[s.isna()]
    if len(gone):
        first = ", ".join(f"{d:%Y-%m-%d}" for d in gone[:3])
        raise DataFileError(
            path,
            f"the market series has no value on {count_of(len(gone), 'session')} the study needs ({first}"
            f"{', ...' if len(gone) > 3 else ''}): the event day and the estimation window need the market",
            name,
        )
    if len(s):  # as the file writes it (read_market has put percent in decimals)
        refuse_other_units(path, float(s.abs().median()) * (100.0 if units == "percent" else 1.0), units, name)
    return s
