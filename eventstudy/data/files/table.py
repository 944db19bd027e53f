"""Reading a user's CSV or parquet file without loading it whole: only the columns asked for,
only the rows of some identifiers (pyarrow dataset filters on parquet, chunks on CSV)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ...core.tables import count_of
from ...errors import DataFileError

# pyarrow is imported where a file is read: importing it reserves much address space, which a
# study that reads no file of its own must not pay (nor a process under a memory cap)

PARQUET = (".parquet", ".pq")
CSV_CHUNK = 1_000_000
ROW = "_line"  # a CSV row's line in its file (the header is line 1)


SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET


def spreadsheet(path: Path, wanted: str = "a CSV or parquet file") -> str:
    """What to say of a spreadsheet's own file given where a table is read (its bytes would be
    read as garbled text); "" for any other file."""
    if path.suffix.lower() not in SPREADSHEETS:
        return ""
    return f"is a spreadsheet ({path.suffix}), not {wanted}: save it from the spreadsheet as 'CSV UTF-8'"


def header(path: Path) -> list[str]:
    """The file's column names (a parquet schema, a CSV's first line); an unreadable file is a
    :class:`DataFileError` saying why."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if said := spreadsheet(path):
        raise DataFileError(path, said)
    try:
        if is_parquet(path):
            return list(pq.read_schema(path).names)
        names = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except FileNotFoundError:
        raise DataFileError(path, "no such file") from None
    except (OSError, pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(path, f"cannot be read ({_why(exc)}): is it a complete CSV or parquet file?") from None
    if separator := other_separator(names):
        raise DataFileError(path, separator)
    return names


def repeated(path: Path) -> list[str]:
    """The names a CSV's header gives more than one column (pandas would read the second ``X``
    as ``X.1``, silently); none for parquet."""
    if is_parquet(path):
        return []
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        names = [name.strip() for name in next(csv.reader(f), [])]
    return sorted({name for name in names if names.count(name) > 1})


def other_separator(columns: Sequence[object]) -> str:
    """What to say of a CSV header read as one column that holds semicolons or tabs (a
    spreadsheet's export where the comma is the decimal mark): its columns are separated by
    them, not by commas; "" for any other header."""
    if len(columns) != 1:
        return ""
    name = str(columns[0])
    found = next((sep for sep in (";", "\t") if sep in name), "")
    if not found:
        return ""
    shown = "a tab" if found == "\t" else "';'"
    return (
        f"its header is one column, {name[:60]!r}: the file is separated by {shown}, not by commas (a "
        "spreadsheet's export in a locale whose decimal mark is the comma); save it as CSV with commas"
    )


def _why(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return str(text)[:200]


def read(
    path: Path,
    columns: Sequence[str],
    key: str | None = None,
    values: Sequence[str] | None = None,
    span: tuple[str, pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """``columns`` of the rows whose ``key`` is one of ``values`` (every row when ``values`` is
    None), as strings for CSV (with :data:`ROW`, each row's line) and as stored for parquet;
    the key as a string. ``span`` (date column, first, last) lets a parquet file whose dates are
    stored as dates skip other days as it reads (others are cut by the caller). A truncated or
    unreadable file is a :class:`DataFileError`."""
    import pyarrow as pa

    try:
        if is_parquet(path):
            frame = _parquet(path, columns, key, values, span)
        else:
            frame = _csv(path, columns, key, values)
    except DataFileError:
        raise
    except FileNotFoundError:
        raise DataFileError(path, "no such file") from None
    except (OSError, pa.ArrowException, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFileError(path, f"cannot be read ({_why(exc)}): is it truncated or not a table?") from None
    if key is not None:
        frame[key] = _ids(frame[key])
    return frame


def _ids(values: pd.Series) -> pd.Series:
    """Identifiers as text: 10107, 10107.0 and "10107" are one security."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & (values == values.round())
        return values.astype("object").where(~whole, values[whole].astype("int64").astype(str)).astype(str)
    return values.astype(str).str.strip()


def _parquet(path: Path, columns, key, values, span) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.dataset as ds

    data = ds.dataset(path, format="parquet")
    where = None
    if span is not None and _temporal(data.schema.field(span[0]).type):
        kind = data.schema.field(span[0]).type
        lo, hi = (pa.scalar(d.to_pydatetime(), type=pa.timestamp("ns")).cast(kind) for d in span[1:])
        where = (ds.field(span[0]) >= lo) & (ds.field(span[0]) <= hi)
    if key is not None and values is not None:
        kind = data.schema.field(key).type
        if pa.types.is_integer(kind):
            wanted = pa.array([int(v) for v in values if str(v).lstrip("-").isdigit()], type=kind)
        elif pa.types.is_floating(kind):
            wanted = pa.array([float(v) for v in values if _number(v)], type=kind)
        else:
            wanted = pa.array([str(v) for v in values], type=pa.string()).cast(kind)
        keep = ds.field(key).isin(wanted)
        where = keep if where is None else where & keep
    return data.to_table(columns=list(columns), filter=where).to_pandas()


def _temporal(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_date(kind) or pa.types.is_timestamp(kind)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv(path: Path, columns, key, values) -> pd.DataFrame:
    _whole(path)
    wanted = None if values is None else set(map(str, values))
    parts = []
    for chunk in pd.read_csv(path, usecols=list(columns), dtype=str, chunksize=CSV_CHUNK, keep_default_na=False):
        chunk[ROW] = chunk.index + 2
        if wanted is not None:
            chunk = chunk[chunk[key].str.strip().isin(wanted)]
        parts.append(chunk)
    if not parts:
        return pd.DataFrame(columns=[*columns, ROW])
    return pd.concat(parts, ignore_index=True)


def _whole(path: Path) -> None:
    """A CSV file ends with a line break; one cut off in its last row is refused."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(size - 1, 0))
        if size and f.read(1) not in (b"\n", b"\r"):
            raise DataFileError(path, "does not end with a line break: it looks truncated (cut off in its last row)")


def where(frame: pd.DataFrame, i: int, key: str, date: str) -> str:
    """Where row ``i`` of ``frame`` is in its file: its line (CSV), else its identifier and date."""
    if ROW in frame:
        return f"line {frame[ROW].iloc[i]}"
    return f"the row of {key} {frame[key].iloc[i]} on {frame[date].iloc[i]}"


def dates(
    path: Path,
    frame: pd.DataFrame,
    column: str,
    date_format: str = "",
    *,
    key: str = "",
    name: str = "",
    blank: pd.Series | None = None,
) -> pd.Series:
    """The dates of ``frame[column]`` (:func:`parse_dates`); a value that is no date is an error
    naming the file, the column (``name``: as the file writes it), the row (its line, else its
    ``key`` and value) and how many such rows there are, and how to write them. ``blank``: the
    rows whose value may be no date (NaT)."""
    out = parse_dates(frame[column], date_format)
    no_date = out.isna() if blank is None else out.isna() & ~blank
    bad = np.flatnonzero(no_date.to_numpy())
    if len(bad):
        i, value = bad[0], frame[column].iloc[bad[0]]
        form = f"in [data] date_format {date_format!r}" if date_format else "YYYY-MM-DD or YYYYMMDD"
        fix = "one format reads the whole column" if date_format else 'give [data] date_format (e.g. "%d/%m/%Y")'
        said = "the row has no date" if pd.isna(value) or not str(value).strip() else f"{value!r} is not a date"
        raise DataFileError(
            path,
            f"{said} {form} ({count_of(len(bad), 'row')} without one): {fix}; "
            "a date such as 01/02/2025 is never guessed",
            name or column,
            where(frame, i, key or column, column),
        )
    return out


def parse_dates(values: pd.Series, date_format: str = "") -> pd.Series:
    """Dates written as dates, as YYYYMMDD numbers or text, as ISO text, or in ``date_format``;
    NaT where a value is no date. One way for the whole column, never a guess per row: the
    format reads every value, unless it reads none and the column is written YYYY-MM-DD or
    YYYYMMDD (a [data] table's format is that of its returns file; its market file may be
    written the usual way)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return _ns(pd.to_datetime(values).dt.tz_localize(None).dt.normalize())
    first = values.dropna().iloc[0] if values.notna().any() else None
    if hasattr(first, "year"):  # datetime.date objects (a parquet date32 column)
        return _ns(pd.to_datetime(values, errors="coerce"))
    text = values.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    if date_format:
        parsed = _ns(pd.to_datetime(text, format=date_format, errors="coerce"))
        if parsed.notna().any() or values.isna().all():
            return parsed
    compact = text.str.fullmatch(r"\d{8}")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if compact.any():
        out[compact] = _ns(pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce"))
    if (~compact).any():
        out[~compact] = _ns(pd.to_datetime(text[~compact], format="ISO8601", errors="coerce"))
    return out


def _ns(parsed: pd.Series) -> pd.Series:
    """``parsed`` in nanoseconds, the study's unit; a date past its range (CRSP's and CIZ's open end
    9999-12-31, which pandas reads in microseconds) is NaT, as no date."""
    return parsed.where(parsed.between(pd.Timestamp.min, pd.Timestamp.max)).astype("datetime64[ns]")
