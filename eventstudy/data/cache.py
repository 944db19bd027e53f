"""On-disk parquet cache of daily prices, one file per ticker, that knows what it covers.

Location: ``$EVENTSTUDY_CACHE`` if set, else the platform's user cache folder
(``platformdirs``), or a folder given to :class:`PriceCache` (the CLI's ``--cache-dir``).
Triage, as pooch does: a request the file covers is a hit (no network); a partial cover
fetches only the missing ranges; no file fetches everything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import platformdirs

from .store import Coverage, read_prices, write_prices

ENV_VAR = "EVENTSTUDY_CACHE"


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
    """Read and atomically write per-ticker price files under ``root/prices/``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"PriceCache({str(self.root)!r})"

    def path(self, ticker: str) -> Path:
        return self.root / "prices" / f"{ticker}.parquet"

    def read(self, ticker: str) -> tuple[pd.DataFrame, Coverage] | None:
        """The stored frame and its coverage, ``None`` if absent; a damaged file raises
        :class:`~eventstudy.errors.CacheCorruptError`."""
        path = self.path(ticker)
        return read_prices(path) if path.exists() else None

    def write(self, ticker: str, frame: pd.DataFrame, coverage: Coverage) -> None:
        write_prices(self.path(ticker), frame, coverage)
