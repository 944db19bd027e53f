"""Gather a study's data: prices per ticker (snapshot, cache, or download) and the tables.

Per ticker, in order: the committed snapshot when it covers the request (or whenever
``offline``); else the cache, fetching only what it lacks through the source; with
``refresh`` everything is downloaded again. A ticker that cannot be had is listed in
``failed`` with its reason; it never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from ..errors import DataError, PricesMissingError
from .cache import PriceCache, missing_ranges
from .snapshot import Snapshot, default_snapshot
from .sources import PriceSource, YFinanceSource
from .store import Coverage, conform

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PriceData:
    """Daily price frames by ticker, where each came from, and the tickers that failed."""

    frames: Mapping[str, pd.DataFrame]
    origin: Mapping[str, str]
    failed: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def panel(self, column: str) -> pd.DataFrame:
        """One column of every frame, as a date × ticker table (NaN where a ticker has no row)."""
        return pd.DataFrame({t: f[column] for t, f in self.frames.items()}).sort_index()


@dataclass(frozen=True)
class MarketData:
    """Everything a study reads: prices, the company list, share counts and factor tables."""

    prices: PriceData
    companies: pd.DataFrame
    shares: pd.DataFrame
    implied_shares: pd.DataFrame
    factors: Mapping[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class _Loader:
    snapshot: Snapshot | None
    cache: PriceCache | None
    source: PriceSource | None
    offline: bool
    refresh: bool
    notes: list[str] = field(default_factory=list)

    def one(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, str]:
        entry = self.snapshot.entry(ticker) if self.snapshot and not self.refresh else None
        if entry is not None:
            frame, cov = self.snapshot.prices(ticker)
            if self.offline or cov.covers(start, end):
                return frame.loc[start:end], "snapshot"
        stored = self.cache.read(ticker) if self.cache and not self.refresh else None
        if self.offline or self.source is None:
            if stored is None:
                raise PricesMissingError(
                    [ticker],
                    f"{start:%Y-%m-%d}",
                    f"{end:%Y-%m-%d}",
                    why="offline, and neither the snapshot nor the cache holds it",
                    hint="Check the ticker spelling, or run without --offline to download it.",
                )
            return stored[0].loc[start:end], "cache"
        return self._fetch(ticker, start, end, stored), self.source.name

    def _fetch(self, ticker, start, end, stored) -> pd.DataFrame:
        frame, cov = stored if stored else (None, None)
        pieces = [] if frame is None else [frame]
        for lo, hi in missing_ranges(cov, start, end):
            try:
                pieces.append(self.source.fetch(ticker, lo, hi))
            except PricesMissingError:
                if frame is None:
                    raise
        merged = conform(pd.concat(pieces))
        lo = min(start, pd.Timestamp(cov.start)) if cov else start
        hi = max(end, pd.Timestamp(cov.end)) if cov else end
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        new = Coverage(ticker, f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}", self.source.name, now, len(merged))
        if self.cache is not None:
            try:
                self.cache.write(ticker, merged, new)
            except OSError as exc:
                self.notes.append(
                    f"could not write {ticker} to the cache at {self.cache.root} ({exc}); "
                    "the data was used but not kept"
                )
        return merged.loc[start:end]


def load_prices(
    tickers: Sequence[str],
    start: object,
    end: object,
    *,
    offline: bool = True,
    refresh: bool = False,
    snapshot: Snapshot | None = None,
    cache: PriceCache | None = None,
    source: PriceSource | None = None,
    progress: Progress | None = None,
) -> PriceData:
    """Prices of ``tickers`` over ``[start, end]``; see the module docstring for the order."""
    if refresh and offline:
        raise ValueError("refresh and offline exclude each other: a refresh downloads")
    loader = _Loader(
        snapshot if snapshot is not None else default_snapshot(),
        cache if cache is not None else (None if offline else PriceCache()),
        source if source is not None else (None if offline else YFinanceSource()),
        offline,
        refresh,
    )
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    frames, origin, failed = {}, {}, {}
    unique = list(dict.fromkeys(tickers))
    for i, ticker in enumerate(unique):
        try:
            frames[ticker], origin[ticker] = loader.one(ticker, start, end)
        except DataError as exc:
            failed[ticker] = str(exc)
        if progress:
            progress(i + 1, len(unique), ticker)
    return PriceData(frames, origin, failed, tuple(loader.notes))


def load_market_data(tickers: Sequence[str], start: object, end: object, **kwargs) -> MarketData:
    """:func:`load_prices` plus the snapshot's tables (share counts and factors are not
    downloaded: they come from filings and Ken French's library, committed with provenance)."""
    snap = kwargs.get("snapshot") or default_snapshot()
    return MarketData(
        prices=load_prices(tickers, start, end, **kwargs),
        companies=snap.table("companies"),
        shares=snap.table("shares_outstanding"),
        implied_shares=snap.table("market_values_2026"),
        factors={name: snap.table(name).set_index("date") for name in ("ff3", "ff5", "mom")},
    )
