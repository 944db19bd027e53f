"""One ticker's daily prices as a parquet file that records what it covers.

The frame format shared by the cache, the snapshot and every source: a ``DatetimeIndex`` named
``date`` (naive, one row per session) and the columns of :data:`PRICE_COLUMNS` — yfinance's
``auto_adjust=False, actions=True`` output in snake case. ``close`` is the traded close (split
adjusted only); ``adj_close`` the dividend- and split-adjusted close where a source gives one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..core.calendar import sessions
from ..core.tables import count_of
from ..errors import CacheCorruptError, DataError, first_few

PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume", "dividends", "splits"]
PRICE_FIELDS = ["open", "high", "low", "close", "adj_close"]
_FIELD_PLACES, _VOLUME_PLACE = [PRICE_COLUMNS.index(c) for c in PRICE_FIELDS], PRICE_COLUMNS.index("volume")
# a ticker that can name a file: no path separator, no leading dot (Yahoo: BRK-B, ^GSPC, EURUSD=X)
TICKER = re.compile(r"\^?[A-Za-z0-9][A-Za-z0-9.=-]{0,19}")
_META_KEY = b"eventstudy"
TMP_SUFFIX = ".tmp"
# no share has traded above a billion dollars or below a millionth of one: a price outside is a
# damaged cell (1e300 in a file), not a price, and would overflow the regressions' sums
PLAUSIBLE = (1e-6, 1e9)
# a file's rows may stop this many sessions short of the end its record claims (a foreign
# exchange's holidays); further short, rows were lost
_SHORT_SESSIONS = 5


@dataclass(frozen=True)
class Coverage:
    """What a stored file covers: the requested range (the data may start later, e.g. a
    listing), where it came from, and when."""

    ticker: str
    start: str
    end: str
    source: str
    fetched_at: str
    rows: int

    def covers(self, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        return pd.Timestamp(self.start) <= start and end <= pd.Timestamp(self.end)


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with exactly :data:`PRICE_COLUMNS` as float64 on naive dates, sorted. Rows that
    repeat a date are kept: :func:`duplicate_dates` tells whether they may be merged."""
    out = frame if list(frame.columns) == PRICE_COLUMNS else frame.reindex(columns=PRICE_COLUMNS)
    out = out.astype("float64")  # a new frame (lazily copied): the caller's keeps its index
    idx = pd.DatetimeIndex(out.index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    out.index = idx.normalize().rename("date")
    return out if out.index.is_monotonic_increasing else out.sort_index(kind="stable")


def duplicate_dates(frame: pd.DataFrame) -> pd.DatetimeIndex:
    """Dates that appear on more than one row with different values (corruption: which copy is
    right cannot be known). Identical copies of a row are not listed."""
    repeated = frame.index.duplicated(keep=False)
    if not repeated.any():
        return pd.DatetimeIndex([])
    rows = frame[repeated].reset_index()
    distinct = rows.drop_duplicates().groupby("date").size()
    return pd.DatetimeIndex(distinct.index[distinct > 1])


def merge_copies(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with identical repeated rows merged into one."""
    return frame[~frame.index.duplicated(keep="first")]


def bad_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells of the price columns that are present but not finite and inside :data:`PLAUSIBLE`
    (True), and volumes that are present but not finite and non-negative."""
    prices = frame[PRICE_FIELDS]
    bad = prices.notna() & ~(np.isfinite(prices) & (prices >= PLAUSIBLE[0]) & (prices <= PLAUSIBLE[1]))
    vol = frame["volume"]
    bad["volume"] = vol.notna() & ~(np.isfinite(vol) & (vol >= 0))
    return bad


def sanitize(frame: pd.DataFrame, ticker: str) -> tuple[pd.DataFrame, str]:
    """The frame with every bad cell (:func:`bad_prices`) set missing, so that day has no
    return, and a note naming the ticker, the fields and the first dates ("" if none)."""
    with np.errstate(invalid="ignore"):
        values = frame.to_numpy(dtype="float64")
        if list(frame.columns) == PRICE_COLUMNS:  # a conformed frame: the columns' places are known
            fields, volume = _FIELD_PLACES, _VOLUME_PLACE
        else:
            fields, volume = frame.columns.get_indexer(PRICE_FIELDS), frame.columns.get_loc("volume")
        prices, vol = values[:, fields], values[:, volume]
        outside = (prices < PLAUSIBLE[0]) | (prices > PLAUSIBLE[1])
        if not (outside.any() or (vol < 0).any() or np.isinf(vol).any()):
            return frame, ""  # the common case, without building the mask
    bad = bad_prices(frame)
    if not bad.to_numpy().any():
        return frame, ""
    days = bad.index[bad.any(axis=1)]
    fields = [c for c in bad.columns if bad[c].any()]
    note = (
        f"{ticker}: {count_of(len(days), 'day')} with an impossible {'/'.join(fields)} "
        f"({first_few(days.strftime('%Y-%m-%d'), 3)}: not a number from "
        f"{PLAUSIBLE[0]:g} to {PLAUSIBLE[1]:g}) set missing: those days have no return"
    )
    return frame.mask(bad), note


def check_ticker(ticker: str) -> str:
    """The ticker, if it can name a file; else a :class:`DataError` (before it becomes a path)."""
    if not isinstance(ticker, str) or not TICKER.fullmatch(ticker):
        raise DataError(
            f"{ticker!r} is not a ticker symbol (letters, digits, '.', '-', '=', an optional leading '^'): "
            "it cannot name a data file"
        )
    return ticker


@functools.cache
def _file_mode() -> int:
    """The mode a new file gets under the process umask (``mkstemp`` makes files 0600); read
    once, as reading the umask means setting it."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temp file in ``path``'s folder, then ``os.replace`` it:
    readers see the old file or the new one, never half of one. The file gets the usual mode
    (group-readable under the common umask), not ``mkstemp``'s private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(path: Path, table: pa.Table) -> None:
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def prices_table(frame: pd.DataFrame, coverage: Coverage) -> pa.Table:
    table = pa.Table.from_pandas(conform(frame), preserve_index=True)
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)
    meta[_META_KEY] = json.dumps(asdict(coverage), sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


def write_prices(path: Path, frame: pd.DataFrame, coverage: Coverage) -> None:
    write_table(path, prices_table(frame, coverage))


def read_prices(path: Path, ticker: str | None = None, content: bytes | None = None) -> tuple[pd.DataFrame, Coverage]:
    """Read a prices file (from ``content`` when its bytes are at hand) and check it against
    its own record and its name (``ticker``, else the file's stem); never return a damaged
    frame. Every failed check raises :class:`CacheCorruptError` saying what is wrong."""
    table = read_table(path, content)
    coverage = _coverage(path, (table.schema.metadata or {}).get(_META_KEY))
    expected = ticker or path.stem
    if coverage.ticker != expected:
        raise CacheCorruptError(path, f"it holds the prices of {coverage.ticker!r}, not of {expected!r}")
    names = table.column_names
    if "date" not in names or not pa.types.is_timestamp(table.schema.field("date").type):
        raise CacheCorruptError(path, "it has no date column")
    missing = [c for c in PRICE_COLUMNS if c not in names]
    if missing or table.num_rows != coverage.rows:
        raise CacheCorruptError(
            path, f"it holds {table.num_rows} rows (its record says {coverage.rows}), missing columns {missing}"
        )
    dates, columns = dates_and_columns(path, table)
    return price_frame(path, dates, np.column_stack(columns), coverage), coverage


def read_table(path: Path, content: bytes | None = None) -> pa.Table:
    """A stored parquet file's table (from ``content`` when its bytes are at hand); one that
    cannot be read raises :class:`CacheCorruptError`."""
    try:
        return pq.ParquetFile(pa.BufferReader(content) if content is not None else path).read(use_threads=False)
    except (OSError, pa.ArrowException) as exc:
        raise CacheCorruptError(path, f"parquet cannot be read ({exc})") from exc


def dates_and_columns(path: Path, table: pa.Table) -> tuple[pd.DatetimeIndex, list[np.ndarray]]:
    """A stored table's dates (naive) and its :data:`PRICE_COLUMNS` as float64 arrays (its date
    and price columns checked present by the caller); a column that is not numeric raises
    :class:`CacheCorruptError`."""
    dates = pd.DatetimeIndex(table.column("date").to_pandas(), name="date")
    if dates.tz is not None:  # another writer's zoned dates: the day where they were written
        dates = dates.tz_localize(None)
    try:
        return dates, [table.column(c).to_numpy().astype("float64") for c in PRICE_COLUMNS]
    except (TypeError, ValueError, pa.ArrowException) as exc:
        raise CacheCorruptError(path, f"a price column is not numeric ({exc})") from exc


def price_frame(path: Path, dates: pd.DatetimeIndex, values: np.ndarray, coverage: Coverage) -> pd.DataFrame:
    """One ticker's stored rows (``values``: rows × :data:`PRICE_COLUMNS`, float64) as the frame
    :func:`conform` makes, once its dates are checked against its record (:func:`_check_dates`)."""
    _check_dates(path, dates, coverage)
    # the columns in order, float64, naive days, sorted (checked), built once; the days floored to
    # midnight as DatetimeIndex.normalize does, without its guess at a frequency
    days = dates.to_numpy()
    days = pd.DatetimeIndex(days.astype("datetime64[D]").astype(days.dtype), name="date")
    return pd.DataFrame(values, index=days, columns=PRICE_COLUMNS)


def _coverage(path: Path, raw: bytes | None) -> Coverage:
    if raw is None:
        raise CacheCorruptError(path, "it carries no eventstudy coverage record")
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise CacheCorruptError(path, f"its coverage record is unreadable ({exc})") from exc
    return coverage_of(path, record)


def coverage_of(path: Path, record: object) -> Coverage:
    """A stored coverage record (a JSON object), checked."""
    try:
        coverage = Coverage(**record)
        lo, hi = pd.Timestamp(coverage.start), pd.Timestamp(coverage.end)
    except (TypeError, ValueError) as exc:
        raise CacheCorruptError(path, f"its coverage record is unreadable ({exc})") from exc
    if not isinstance(coverage.rows, int) or lo > hi:
        raise CacheCorruptError(path, f"its coverage record is inconsistent ({coverage})")
    return coverage


def _check_dates(path: Path, dates: pd.Index, coverage: Coverage) -> None:
    """Dates present, in order, each once, inside the range the record claims, and reaching its
    end (a writer records no more than its rows reach, :func:`~.loader._reached`)."""
    if dates.isna().any():
        raise CacheCorruptError(path, "a row has no date")
    if dates.has_duplicates:
        dup = dates[dates.duplicated()]
        verb = "appears" if len(dup) == 1 else "appear"
        raise CacheCorruptError(path, f"{count_of(len(dup), 'date')} {verb} more than once (first {dup[0]:%Y-%m-%d})")
    if not dates.is_monotonic_increasing:
        raise CacheCorruptError(path, "its dates are not in order")
    lo, hi = pd.Timestamp(coverage.start), pd.Timestamp(coverage.end)
    if len(dates) and (dates[0] < lo or dates[-1] > hi):
        raise CacheCorruptError(
            path,
            f"it holds rows from {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}, outside the "
            f"{coverage.start}..{coverage.end} its record covers",
        )
    if not len(dates):
        raise CacheCorruptError(path, f"it holds no rows although its record covers {coverage.start}..{coverage.end}")
    short = _sessions_after(dates[-1], min(hi, dates[-1] + pd.Timedelta(days=31)))
    if short > _SHORT_SESSIONS:
        raise CacheCorruptError(
            path,
            f"its rows stop at {dates[-1]:%Y-%m-%d} although its record covers through {coverage.end} "
            f"({short} sessions without a row): rows were lost",
        )


@functools.lru_cache(maxsize=1024)
def _sessions_after(last: pd.Timestamp, until: pd.Timestamp) -> int:
    """The sessions after ``last`` up to ``until`` (the files of one download end alike: counted once)."""
    return len(sessions(last + pd.Timedelta(days=1), until))
