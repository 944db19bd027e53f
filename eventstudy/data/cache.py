"""On-disk parquet cache of daily prices, one file per ticker, that knows what it covers.

Location: ``$EVENTSTUDY_CACHE`` if set, else the platform's user cache folder
(``platformdirs``), or a folder given to :class:`PriceCache` (the CLI's ``--cache-dir``).
Triage, as pooch does: a request the file covers is a hit (no network); a partial cover
fetches only the missing ranges; no file fetches everything. Every file is checked against
its record when read (:func:`~.store.read_prices`); one that fails is set aside under a
``.bad-<time>`` name, never deleted.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import platformdirs

from .store import TICKER, TMP_SUFFIX, Coverage, check_ticker, read_prices, write_prices

ENV_VAR = "EVENTSTUDY_CACHE"
# a temp file older than this was left by a killed writer (a live write takes seconds)
STALE_TMP_SECONDS = 3600


def default_cache_dir() -> Path:
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path(platformdirs.user_cache_dir("eventstudy"))


def missing_ranges(
    coverage: Coverage | None, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The parts of ``[start, end]`` a stored file does not cover (empty: a cache hit)."""
    if coverage is None:
        return [(start, end)]
    lo, hi = pd.Timestamp(coverage.start), pd.Timestamp(coverage.end)
    gaps = []
    if start < lo:
        gaps.append((start, min(end, lo - pd.Timedelta(days=1))))
    if end > hi:
        gaps.append((max(start, hi + pd.Timedelta(days=1)), end))
    return gaps


class PriceCache:
    """Read, check and atomically write per-ticker price files under ``root/prices/``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"PriceCache({str(self.root)!r})"

    @property
    def folder(self) -> Path:
        return self.root / "prices"

    def path(self, ticker: str) -> Path:
        return self.folder / f"{check_ticker(ticker)}.parquet"

    def tickers(self) -> list[str]:
        """The tickers the cache holds a file for (not yet checked: :meth:`read` does that)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.parquet") if TICKER.fullmatch(p.stem))

    def read(self, ticker: str) -> tuple[pd.DataFrame, Coverage] | None:
        """The stored frame and its coverage, ``None`` if absent; a damaged file raises
        :class:`~eventstudy.errors.CacheCorruptError`."""
        path = self.path(ticker)
        return read_prices(path, ticker) if path.exists() else None

    def set_aside(self, ticker: str) -> Path:
        """Rename a file that failed its checks to ``<T>.parquet.bad-<UTC time>`` (kept for a
        post-mortem, never read again) and return the new path."""
        path = self.path(ticker)
        aside = path.with_name(f"{path.name}.bad-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
        os.replace(path, aside)
        return aside

    def write(self, ticker: str, frame: pd.DataFrame, coverage: Coverage) -> None:
        self.sweep()
        write_prices(self.path(ticker), frame, coverage)

    def sweep(self) -> list[Path]:
        """Remove temp files a killed writer left behind (older than an hour: a write in
        progress elsewhere is left alone); returns what was removed."""
        if not self.folder.is_dir():
            return []
        cutoff = time.time() - STALE_TMP_SECONDS
        gone = []
        for tmp in self.folder.glob(f".*{TMP_SUFFIX}"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    gone.append(tmp)
            except FileNotFoundError:
                continue
        return gone
