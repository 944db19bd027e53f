"""The committed, read-only data snapshot: real Yahoo-derived data in the cache's own format.

``eventstudy/data/snapshot/`` holds every ticker's prices in one file (``prices.parquet``, the
:mod:`.pack` format: each ticker's rows and coverage record as :mod:`.store` keeps one ticker's),
the tables (``tables/<name>.parquet``: companies, share counts, 2026 market values, Fama–French
factors in percent as published, a third source of closes), the provenance notes
``SOURCES-*.md``, and ``MANIFEST``: one line per file, ``path sha256 rows first last source``,
and one per ticker, ``prices.parquet:<T>`` with the sha256 of its rows
(:meth:`~.pack.PackedPrices.digest`). Each file's checksum is verified when it is first read;
when the prices file's differs, each ticker's rows are checked against their own line, so an
altered ticker fails alone.

:func:`build_snapshot` is the import: it re-creates every file from the shared data folder
(no value altered: text → float64, source columns renamed to the common format).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..errors import CacheCorruptError, ChecksumError, DataError, first_few
from .pack import PackedPrices, write_packed
from .store import PRICE_COLUMNS, Coverage, write_table

SNAPSHOT_DIR = Path(__file__).with_name("snapshot")
MANIFEST = "MANIFEST"
PRICES = "prices.parquet"  # every ticker's prices; its tickers' MANIFEST lines are "prices.parquet:<T>"
# vintage of the unadjusted source (SOURCES-prices.md §1)
FETCHED_AT = "2026-05-31"
# the range the stock files were cut to (a listing may start later)
STOCK_RANGE = ("2023-10-02", "2025-06-30")
RESTORE = (
    "The committed snapshot is damaged: restore it (`git checkout -- eventstudy/data/snapshot`, or reinstall "
    "the package), or rebuild it with `eventstudy snapshot --from DIR`"
)
TABLES = ("companies", "shares_outstanding", "market_values_2026", "ff3", "ff5", "mom", "closes")


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    sha256: str
    rows: int
    first: str
    last: str
    source: str

    def line(self) -> str:
        return f"{self.path} {self.sha256} {self.rows} {self.first} {self.last} {self.source}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Snapshot:
    """Read access to a snapshot folder; every file is checked against ``MANIFEST`` on load."""

    def __init__(self, root: Path = SNAPSHOT_DIR) -> None:
        self.root = Path(root)
        manifest = self.root / MANIFEST
        if not manifest.is_file():
            raise DataError(f"no snapshot MANIFEST in {self.root}; rebuild it with `eventstudy snapshot`")
        self.entries = {e.path: e for e in (ManifestEntry(*_split(manifest, n, line)) for n, line in _lines(manifest))}
        self._verified: set[str] = set()

    def __repr__(self) -> str:
        return f"Snapshot({str(self.root)!r}, files={len(self.entries)})"

    def tickers(self) -> list[str]:
        return sorted(p[len(PRICES) + 1 :] for p in self.entries if p.startswith(f"{PRICES}:"))

    def entry(self, ticker: str) -> ManifestEntry | None:
        return self.entries.get(f"{PRICES}:{ticker}")

    def _checked(self, rel: str) -> tuple[Path, bytes]:
        """A file of the snapshot and its bytes, checked against the MANIFEST (once per file:
        the bytes checked are the bytes read)."""
        path = self.root / rel
        entry = self.entries.get(rel)
        if entry is None:
            raise DataError(f"{rel} is not in the snapshot at {self.root}")
        if not path.is_file():
            raise DataError(f"{path} is missing (the snapshot's MANIFEST lists it). {RESTORE}.")
        content = path.read_bytes()
        if rel not in self._verified:
            if hashlib.sha256(content).hexdigest() != entry.sha256:
                raise ChecksumError(path, "its sha256 differs from the MANIFEST (the file was altered)", RESTORE)
            self._verified.add(rel)
        return path, content

    @functools.cached_property
    def _pack(self) -> tuple[PackedPrices | None, frozenset[str], DataError | None]:
        """The prices file read once, the tickers whose rows differ from their MANIFEST lines
        (checked only when the file's checksum differs), or why it cannot be read at all (then
        every ticker fails with it)."""
        try:
            path, content = self._checked(PRICES)
            return PackedPrices.read(path, content), frozenset(), None
        except ChecksumError as exc:
            try:
                pack = PackedPrices.read(exc.path, exc.path.read_bytes())
            except (CacheCorruptError, OSError) as unreadable:
                return None, frozenset(), ChecksumError(exc.path, getattr(unreadable, "why", str(unreadable)), RESTORE)
            ours = {t: self.entry(t).sha256 for t in self.tickers()}
            altered = frozenset(t for t, digest in ours.items() if t not in pack.spans or pack.digest(t) != digest)
            return pack, altered, None
        except CacheCorruptError as exc:
            return None, frozenset(), CacheCorruptError(exc.path, exc.why, RESTORE)
        except DataError as exc:  # the file is missing
            return None, frozenset(), exc

    def prices(self, ticker: str) -> tuple[pd.DataFrame, Coverage]:
        if self.entry(ticker) is None:
            raise DataError(f"{ticker} is not in the snapshot at {self.root}")
        pack, altered, failure = self._pack
        if failure is not None:
            raise failure.with_traceback(None)
        if ticker in altered:
            raise ChecksumError(
                pack.path, f"the sha256 of {ticker}'s rows differs from the MANIFEST (the file was altered)", RESTORE
            )
        try:
            return pack.prices(ticker)
        except CacheCorruptError as exc:
            raise CacheCorruptError(exc.path, exc.why, RESTORE) from None

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self._checked(f"tables/{name}.parquet")[1]))

    def factors(self) -> dict[str, pd.DataFrame]:
        """The Fama–French daily factor tables (``ff3``, ``ff5``, ``mom``), by date, in percent."""
        return {name: self.table(name).set_index("date") for name in ("ff3", "ff5", "mom")}


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({exc}). {RESTORE}.") from None
    return [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.startswith("#")]


def _split(manifest: Path, n: int, line: str) -> list:
    parts = line.split(maxsplit=5)
    if len(parts) != 6 or not parts[2].isdigit() or not re.fullmatch(r"[0-9a-f]{64}", parts[1]):
        raise DataError(
            f"{manifest}: line {n} is malformed ({line[:80]!r}): expected 'path sha256 rows first last source'. "
            f"{RESTORE}."
        )
    path, digest, rows, first, last, source = parts
    return [path, digest, int(rows), first, last, source]


@functools.cache
def default_snapshot() -> Snapshot:
    """The snapshot shipped inside the package."""
    return Snapshot(SNAPSHOT_DIR)


# ---------------------------------------------------------------------------------------------
# Import from the shared data folder (a reproducible command: `eventstudy snapshot --from DIR`)

_UNADJ = "yahoo-chart-split-adjusted:SungKyu-Kim39/BackTester39@e57a932"
_ADJ = {
    **dict.fromkeys(["VST", "CEG", "TSM", "GEV"], "yahoo-auto-adjust:samanyugoyal2010/ai-stock@b6109d2"),
    **dict.fromkeys(["MRVL", "SMCI"], "yahoo-auto-adjust:cocoajonmat/quant-backtest@d3abfb4"),
}
_ADJ_DEFAULT = "yahoo-auto-adjust:DrRobAnthony/market-data@005b391"
_INDICES = {
    "^GSPC": ("indices/GSPC.csv", "yahoo-index:guydekowski/market-lab@6a10f1b"),
    "^IXIC": ("indices/IXIC.csv", "yahoo-index:GhousHussain/deepseek-event-study@d44c279"),
    "^SOX": ("indices/SOX.csv", "yahoo-index:eevanthu/CS4602ML-FinalProject@22958be"),
    "SMH": ("indices/SMH.csv", "yahoo-close-adjustment-unknown:dsturdy/Factor_Attribution@096a2ae"),
}
_TABLE_FILES = {
    "companies": "companies.csv",
    "shares_outstanding": "shares_outstanding.csv",
    "market_values_2026": "market_values_2026.csv",
    "ff3": "factors/ff3_daily.csv",
    "ff5": "factors/ff5_daily.csv",
    "mom": "factors/mom_daily.csv",
    "closes": "closes/unadjusted_closes.csv",
}
_TABLE_SOURCES = {
    "companies": "BackTester39-stocks.json@e57a932",
    "shares_outstanding": "filings-see-SOURCES-fundamentals.md",
    "market_values_2026": "BackTester39-stocks.json@e57a932",
    "ff3": "Fama-French-202604:tommy66779/Comparaison-IA-DotCom@852727c",
    "ff5": "Fama-French-202509:SerinaTraore/Investments-Project@b33049d",
    "mom": "Fama-French-202604:tommy66779/Comparaison-IA-DotCom@323587e",
    "closes": "yahoo-closes:tommy66779/Comparaison-IA-DotCom@323587e",
}


@contextlib.contextmanager
def _reading(path: Path):
    """A source file that cannot be parsed (a bad cell, a missing column) is named."""
    try:
        yield
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {exc}).") from None


def _read_ohlcv(path: Path) -> pd.DataFrame:
    with _reading(path):
        return pd.read_csv(path, parse_dates=["date"], index_col="date").astype("float64")


def _ticker_frame(shared: Path, ticker: str) -> tuple[pd.DataFrame, str]:
    """Traded OHLCV + dividends from ``unadjusted/``, the adjusted close from ``prices/``."""
    unadj, adj = shared / "unadjusted" / f"{ticker}.csv", shared / "prices" / f"{ticker}.csv"
    if unadj.is_file():
        frame, source = _read_ohlcv(unadj), _UNADJ
        divs = shared / "dividends" / f"{ticker}.csv"
        paid = None
        if divs.is_file():
            with _reading(divs):
                paid = pd.read_csv(divs, parse_dates=["date"], index_col="date")["dividend"].astype("float64")
        frame["dividends"] = 0.0 if paid is None else paid.reindex(frame.index).fillna(0.0)
    adjusted = _read_ohlcv(adj) if adj.is_file() else None
    if not unadj.is_file():  # only an adjusted series exists: no traded prices (VST, ASML)
        frame, source = pd.DataFrame(index=adjusted.index), "no-traded-prices"
        frame["volume"] = adjusted["volume"]
    if adjusted is not None:
        frame["adj_close"] = adjusted["close"].reindex(frame.index)
        source += "+adj_close:" + _ADJ.get(ticker, _ADJ_DEFAULT).split(":", 1)[1]
    return frame.reindex(columns=PRICE_COLUMNS), source


# index series a second source extends: its closes fill the sessions the OHLC file lacks
_INDEX_CLOSES = {"^GSPC": ("GSPC", "+closes:" + _TABLE_SOURCES["closes"].split(":", 1)[1])}


def _index_frame(shared: Path, ticker: str, rel: str, source: str) -> tuple[pd.DataFrame, str]:
    """An index's OHLCV file; for the S&P 500 the closes table's sessions outside it (within
    the stocks' range) are added, close only: both agree to float precision where they overlap."""
    frame = _read_ohlcv(shared / rel)
    if ticker in _INDEX_CLOSES:
        column, extra = _INDEX_CLOSES[ticker]
        closes = _read_table(shared, "closes").set_index("date")[column].dropna()
        lo, hi = STOCK_RANGE
        more = closes.loc[lo:hi].drop(frame.index, errors="ignore")
        frame = pd.concat([frame, more.to_frame("close")]).sort_index()
        source += extra
    frame["dividends"] = 0.0
    return frame.reindex(columns=PRICE_COLUMNS), source


def _prices_part(
    ticker: str, frame: pd.DataFrame, source: str, requested: tuple[str, str] | None = None
) -> tuple[pd.DataFrame, Coverage]:
    first, last = f"{frame.index[0]:%Y-%m-%d}", f"{frame.index[-1]:%Y-%m-%d}"
    lo, hi = requested or (first, last)
    hi = min(hi, last)  # a record claims no more than the rows reach (store._check_dates holds it to that)
    return frame, Coverage(ticker, lo, hi, source, FETCHED_AT, len(frame))


def _write_prices(out: Path, parts: list[tuple[pd.DataFrame, Coverage]]) -> list[ManifestEntry]:
    """The prices file, and its MANIFEST lines: the file's, and each ticker's (its rows' digest,
    read back from the file)."""
    write_packed(out / PRICES, parts)
    content = (out / PRICES).read_bytes()
    pack = PackedPrices.read(out / PRICES, content)
    lines = []
    for _, coverage in parts:
        t = coverage.ticker
        dates = pack.prices(t)[0].index
        first, last = f"{dates[0]:%Y-%m-%d}", f"{dates[-1]:%Y-%m-%d}"
        lines.append(ManifestEntry(f"{PRICES}:{t}", pack.digest(t), len(dates), first, last, coverage.source))
    whole = ManifestEntry(
        PRICES,
        hashlib.sha256(content).hexdigest(),
        sum(e.rows for e in lines),
        min(e.first for e in lines),
        max(e.last for e in lines),
        f"{len(lines)} tickers, one line each",
    )
    return [whole, *lines]


def _write_table_entry(out: Path, name: str, frame: pd.DataFrame) -> ManifestEntry:
    rel = f"tables/{name}.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_table(out / rel, table.replace_schema_metadata({}))
    dates = frame["date"] if "date" in frame else pd.Series(dtype="datetime64[ns]")
    first = f"{dates.min():%Y-%m-%d}" if len(dates) else "-"
    last = f"{dates.max():%Y-%m-%d}" if len(dates) else "-"
    return ManifestEntry(rel, sha256(out / rel), len(frame), first, last, _TABLE_SOURCES[name])


def _read_table(shared: Path, name: str) -> pd.DataFrame:
    dtype = {"as_of": "string", "shares": "int64"} if name == "shares_outstanding" else None
    with _reading(shared / _TABLE_FILES[name]):
        frame = pd.read_csv(shared / _TABLE_FILES[name], dtype=dtype)
        if "date" in frame:
            frame["date"] = pd.to_datetime(frame["date"])
    return frame


_NOTES = ("SOURCES-prices.md", "SOURCES-fundamentals.md", "prices/SOURCES-more.md")


def build_snapshot(shared: Path, out: Path = SNAPSHOT_DIR) -> list[ManifestEntry]:
    """Re-create the snapshot in ``out`` from the shared data folder ``shared``, as a
    transaction: the whole source is checked first, the snapshot is built in a temporary
    folder beside ``out`` and verified (every file against its MANIFEST line: checksum and
    rows), then swapped in. On any failure the old snapshot is untouched and the
    :class:`DataError` names the missing or bad file."""
    shared, out = Path(shared), Path(out)
    _check_source(shared)
    out.parent.mkdir(parents=True, exist_ok=True)
    for leftover in out.parent.glob(f".{out.name}.building-*"):  # from a build that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    old = out.with_name(f".{out.name}.old")
    if old.exists() and not out.exists():  # killed between the two renames of a swap: put it back
        os.replace(old, out)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        entries = _build(shared, work)
        _verify(work, entries)
        _swap(work, out)
    except DataError as exc:
        raise DataError(f"{exc} The snapshot was not changed.") from None
    except OSError as exc:
        raise DataError(
            f"the new snapshot could not be written in {work} ({exc}). The snapshot was not changed."
        ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return entries


def _check_source(shared: Path) -> None:
    needed = [shared / "unadjusted", shared / "prices", shared / "dividends"]
    needed += [shared / rel for rel, _ in _INDICES.values()]
    needed += [shared / rel for rel in _TABLE_FILES.values()]
    needed += [shared / note for note in _NOTES]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise DataError(
            f"{shared} is not a shared data folder: missing {first_few(missing, 5)}. The snapshot was not changed."
        )


def _build(shared: Path, out: Path) -> list[ManifestEntry]:
    tickers = sorted(
        {p.stem for p in (shared / "unadjusted").glob("*.csv")} | {p.stem for p in (shared / "prices").glob("*.csv")}
    )
    parts = [_prices_part(t, *_ticker_frame(shared, t), STOCK_RANGE) for t in tickers]
    parts += [_prices_part(t, *_index_frame(shared, t, rel, src)) for t, (rel, src) in _INDICES.items()]
    entries = _write_prices(out, parts)
    entries += [_write_table_entry(out, name, _read_table(shared, name)) for name in TABLES]
    for note in _NOTES:
        shutil.copyfile(shared / note, out / Path(note).name)
    header = "# path sha256 rows first last source — written by `eventstudy snapshot`; do not edit\n"
    (out / MANIFEST).write_text(header + "".join(e.line() + "\n" for e in sorted(entries, key=lambda e: e.path)))
    return entries


def _verify(root: Path, entries: list[ManifestEntry]) -> None:
    """Every file and ticker the build wrote is in the MANIFEST with its checksum and row count."""
    snap = Snapshot(root)
    if set(snap.entries) != {e.path for e in entries}:
        raise DataError(f"the new snapshot's MANIFEST does not list the files written in {root}")
    for e in entries:
        if e.path.startswith(f"{PRICES}:"):
            rows = len(snap.prices(e.path[len(PRICES) + 1 :])[0])
        elif e.path.startswith("tables/"):
            rows = len(snap.table(e.path[7:-8]))
        else:  # the prices file itself: its tickers' lines are checked
            continue
        if rows != e.rows:
            raise DataError(f"{e.path}: {rows} rows read back, {e.rows} written.")


def _swap(work: Path, out: Path) -> None:
    """Put ``work`` in place of ``out``; the old snapshot is moved aside first and restored if
    the swap fails, then removed."""
    old = out.with_name(f".{out.name}.old") if out.exists() else None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
    try:
        os.replace(work, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
