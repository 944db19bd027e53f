"""Many tickers' daily prices in one parquet file: the snapshot's format.

One row per ticker and session, the tickers one after another (each one's rows by date): the
columns ``ticker`` (dictionary-encoded), ``date`` and :data:`~.store.PRICE_COLUMNS`, and in the
file's metadata each ticker's coverage record (:class:`~.store.Coverage`), in the file's order.
Reading it is one parquet read however many tickers a study needs (348 files of one ticker
each took about 0.3 s of the main job; this one about 0.05 s). Each ticker's rows have a
:meth:`PackedPrices.digest`, so a MANIFEST can tell which tickers an altered file changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import CacheCorruptError
from .store import (
    PRICE_COLUMNS,
    Coverage,
    conform,
    coverage_of,
    dates_and_columns,
    price_frame,
    read_table,
    write_table,
)

_RECORDS_KEY = b"eventstudy-pack"


def packed_table(parts: Sequence[tuple[pd.DataFrame, Coverage]]) -> pa.Table:
    """The frames (each conformed, as :func:`~.store.write_prices` stores one) as one table, in
    the order given, with their records."""
    frames = [conform(frame) for frame, _ in parts]
    names = [coverage.ticker for _, coverage in parts]
    codes = np.repeat(np.arange(len(frames), dtype=np.int32), [len(f) for f in frames])
    columns = {
        "ticker": pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names, pa.string())),
        "date": pa.array(np.concatenate([f.index.to_numpy() for f in frames])),
        **{c: pa.array(np.concatenate([f[c].to_numpy() for f in frames])) for c in PRICE_COLUMNS},
    }
    records = json.dumps([asdict(coverage) for _, coverage in parts], sort_keys=True).encode()
    return pa.table(columns).replace_schema_metadata({_RECORDS_KEY: records})


def write_packed(path: Path, parts: Sequence[tuple[pd.DataFrame, Coverage]]) -> None:
    write_table(path, packed_table(parts))


@dataclass(frozen=True)
class PackedPrices:
    """A packed file read and checked as a whole (columns, records, each ticker's rows in one
    run of the length its record says); each ticker's dates are checked when its frame is
    made (:meth:`prices`)."""

    path: Path
    records: dict[str, Coverage]
    spans: dict[str, tuple[int, int]]
    dates: pd.DatetimeIndex
    values: tuple[np.ndarray, ...]  # one float64 array per price column

    @classmethod
    def read(cls, path: Path, content: bytes) -> PackedPrices:
        table = read_table(path, content)
        try:
            raw = json.loads((table.schema.metadata or {})[_RECORDS_KEY])
            records = [coverage_of(path, r) for r in raw]
        except (KeyError, TypeError, ValueError) as exc:
            raise CacheCorruptError(path, f"its coverage records are missing or unreadable ({exc})") from exc
        names = table.column_names
        missing = [c for c in ("ticker", "date", *PRICE_COLUMNS) if c not in names]
        if missing or not pa.types.is_timestamp(table.schema.field("date").type):
            raise CacheCorruptError(path, f"it lacks the columns {missing or ['date (a timestamp)']}")
        ticker = table.column("ticker").combine_chunks()
        if not pa.types.is_dictionary(ticker.type) or ticker.null_count:
            raise CacheCorruptError(path, "its ticker column is not a complete dictionary of names")
        codes, known = ticker.indices.to_numpy(), ticker.dictionary.to_pylist()
        runs = np.flatnonzero(np.diff(codes)) + 1
        starts, stops = np.r_[0, runs], np.r_[runs, len(codes)]
        order = [known[c] for c in codes[starts]] if len(codes) else []
        if order != [r.ticker for r in records] or len(set(order)) != len(order):
            raise CacheCorruptError(path, "its tickers' rows are not one run each in the order of its records")
        counts = stops - starts
        wrong = [r.ticker for r, n in zip(records, counts, strict=True) if n != r.rows]
        if wrong:
            raise CacheCorruptError(path, f"{', '.join(wrong[:3])}: the rows differ from the record's count")
        dates, values = dates_and_columns(path, table)
        spans = {r.ticker: (int(a), int(b)) for r, a, b in zip(records, starts, stops, strict=True)}
        return cls(path, {r.ticker: r for r in records}, spans, dates, tuple(values))

    def _rows(self, ticker: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
        a, b = self.spans[ticker]
        return self.dates[a:b], np.column_stack([v[a:b] for v in self.values])

    def prices(self, ticker: str) -> tuple[pd.DataFrame, Coverage]:
        """The ticker's frame, as :func:`~.store.read_prices` makes a file's, and its record."""
        dates, values = self._rows(ticker)
        coverage = self.records[ticker]
        try:
            return price_frame(self.path, dates, values, coverage), coverage
        except CacheCorruptError as exc:
            raise CacheCorruptError(self.path, f"{ticker}'s rows: {exc.why}") from None

    def digest(self, ticker: str) -> str:
        """sha256 of the ticker's rows: its record, its dates and its values as stored."""
        dates, values = self._rows(ticker)
        record = json.dumps(asdict(self.records[ticker]), sort_keys=True).encode()
        return hashlib.sha256(record + dates.asi8.tobytes() + values.tobytes()).hexdigest()
