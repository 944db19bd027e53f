"""One ticker's daily prices as a parquet file that records what it covers.

The frame format shared by the cache, the snapshot and every source: a ``DatetimeIndex`` named
``date`` (naive, one row per session) and the columns of :data:`PRICE_COLUMNS` — yfinance's
``auto_adjust=False, actions=True`` output in snake case. ``close`` is the traded close (split
adjusted only); ``adj_close`` the dividend- and split-adjusted close where a source gives one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import CacheCorruptError

PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume", "dividends", "splits"]
_META_KEY = b"eventstudy"


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
    """The frame with exactly :data:`PRICE_COLUMNS` as float64, sorted, unique naive dates."""
    out = frame.reindex(columns=PRICE_COLUMNS).astype("float64")
    idx = pd.DatetimeIndex(out.index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    out.index = idx.normalize().rename("date")
    out = out[~out.index.duplicated(keep="last")].sort_index()
    return out


def write_atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temp file in ``path``'s folder, then ``os.replace`` it:
    readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
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


def read_prices(path: Path) -> tuple[pd.DataFrame, Coverage]:
    """Read a prices file and check it against its own record; never return a damaged frame."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise CacheCorruptError(path, f"parquet cannot be read ({exc})") from exc
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise CacheCorruptError(path, "it carries no eventstudy coverage record")
    try:
        coverage = Coverage(**json.loads(raw))
    except (TypeError, ValueError) as exc:
        raise CacheCorruptError(path, f"its coverage record is unreadable ({exc})") from exc
    frame = table.to_pandas()
    if "date" in frame.columns:
        frame = frame.set_index("date")
    missing = set(PRICE_COLUMNS) - set(frame.columns)
    if missing or len(frame) != coverage.rows:
        raise CacheCorruptError(
            path, f"it holds {len(frame)} rows (record says {coverage.rows}), missing {sorted(missing)}"
        )
    return conform(frame), coverage
