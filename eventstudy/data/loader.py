"""Gather a study's data: prices per ticker (snapshot, cache, or download) and the tables.

Per ticker, in order: the committed snapshot when it covers the request (or whenever
``offline``); else the cache, fetching only what it lacks through the source (when that fails
for a ticker the snapshot holds in part, its part, with a note); with ``refresh`` everything is
downloaded again. A ticker that cannot be had is listed in
``failed`` with its reason; it never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ..core.calendar import sessions
from ..errors import CacheCorruptError, DataError, NoNetworkError, PricesMissingError, first_few
from .cache import PriceCache, missing_ranges
from .snapshot import Snapshot, default_snapshot
from .sources import PriceSource, YFinanceSource
from .store import PRICE_FIELDS, Coverage, check_ticker, conform, duplicate_dates, merge_copies, sanitize

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PriceData:
    """Daily price frames by ticker (the span asked for), where each came from, the tickers
    that failed, and ``extent``: the first and last date with a close of all that the source
    holds for each ticker (a firm listed after the span has an empty frame and a later start)."""

    frames: Mapping[str, pd.DataFrame]
    origin: Mapping[str, str]
    failed: Mapping[str, str]
    notes: tuple[str, ...] = ()
    extent: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)

    def panel(self, column: str) -> pd.DataFrame:
        """One column of every frame, as a date × ticker table (NaN where a ticker has no row)."""
        return pd.DataFrame({t: f[column] for t, f in self.frames.items()}).sort_index()


@dataclass(frozen=True)
class MarketData:
    """Everything a study reads: prices, the company list, share counts and factor tables;
    ``files``: the facts of a study's own data files (role, file, path, bytes, rows, sha256),
    ``None`` for the snapshot, the cache and downloads."""

    prices: PriceData
    companies: pd.DataFrame
    shares: pd.DataFrame
    implied_shares: pd.DataFrame
    factors: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    files: pd.DataFrame | None = None


@dataclass
class _Loader:
    snapshot: Snapshot | None
    cache: PriceCache | None
    source: PriceSource | None
    offline: bool
    refresh: bool
    notes: list[str] = field(default_factory=list)
    extent: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)
    unreachable: NoNetworkError | None = None  # the source found no network: not asked again
    fell_back: dict[str, list[str]] = field(default_factory=dict)  # what was used instead → the tickers

    def fallback(self, ticker: str, exc: DataError, instead: str) -> None:
        """A download of ``ticker`` failed (``exc``) and ``instead`` was used: said once for all
        the tickers that failed alike (without a network, every one of a study's)."""
        why = exc.reason if isinstance(exc, PricesMissingError) else str(exc)
        self.fell_back.setdefault(f"{why.rstrip('.')}; {instead}", []).append(ticker)

    def all_notes(self) -> tuple[str, ...]:
        grouped = [f"{first_few(tickers, 6)}: {said}" for said, tickers in self.fell_back.items()]
        return (*self.notes, *grouped)

    def one(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, str]:
        check_ticker(ticker)
        frame, origin = self._find(ticker, start, end)
        frame, note = sanitize(frame.loc[start:end], ticker)
        if note:
            self.notes.append(note)
        return frame, origin

    def _seen(self, ticker: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Record the first and last close of all that is held for ``ticker``; the frame whole."""
        held = np.flatnonzero(~np.isnan(frame["close"].to_numpy(dtype="float64")))
        if len(held):
            self.extent[ticker] = (frame.index[held[0]], frame.index[held[-1]])
        return frame

    def _find(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, str]:
        entry = self.snapshot.entry(ticker) if self.snapshot and not self.refresh else None
        if entry is not None:
            frame, cov = self.snapshot.prices(ticker)
            if self.offline or cov.covers(start, end):
                return self._seen(ticker, frame), "snapshot"
        stored = self._cached(ticker) if self.cache and not self.refresh else None
        if self.offline or self.source is None:
            if stored is None:
                raise PricesMissingError(
                    [ticker],
                    f"{start:%Y-%m-%d}",
                    f"{end:%Y-%m-%d}",
                    why="it is not in the offline data (neither the snapshot nor the cache holds it)",
                    hint="Check the ticker spelling, or run without --offline to download it.",
                )
            frame, cov = stored
            if not cov.covers(start, end):
                self.notes.append(
                    f"{ticker}: offline, the cache covers {cov.start}..{cov.end} only "
                    f"(asked {start:%Y-%m-%d}..{end:%Y-%m-%d})"
                )
            return self._seen(ticker, frame), "cache"
        try:
            frame, origin = self._fetch(ticker, start, end, stored)
        except DataError as exc:
            if entry is None:
                raise
            # the snapshot holds part of the span: its data, said, rather than nothing
            frame, cov = self.snapshot.prices(ticker)
            self.fallback(ticker, exc, f"the snapshot's data ({cov.start}..{cov.end}) are used")
            return self._seen(ticker, frame), "snapshot"
        return self._seen(ticker, frame), origin

    def _cached(self, ticker: str) -> tuple[pd.DataFrame, Coverage] | None:
        """The cache's file for ``ticker``; one that fails its checks is set aside and said so:
        online it is downloaded again, offline the ticker fails with the reason."""
        try:
            return self.cache.read(ticker)
        except CacheCorruptError as exc:
            try:
                aside = f"set aside as {self.cache.set_aside(ticker).name}"
            except OSError as move:
                aside = f"could not be set aside ({move.strerror or move})"
            if self.offline or self.source is None:
                raise CacheCorruptError(exc.path, exc.why, f"It was {aside}; run online to download it again") from None
            self.notes.append(f"{ticker}: {exc}; {aside} and downloaded again")
            return None

    def _fetch(self, ticker, start, end, stored) -> tuple[pd.DataFrame, str]:
        """Download what the cache lacks; the cache's record widens only over what came back,
        and the file is rewritten only when something new came."""
        frame, cov = stored if stored else (None, None)
        gaps = missing_ranges(cov, start, end)
        if not gaps:
            return frame, "cache"
        lo, hi = (pd.Timestamp(cov.start), pd.Timestamp(cov.end)) if cov else (None, None)
        pieces = [] if frame is None else [frame]
        for g_lo, g_hi in gaps:
            try:
                got = self._download(ticker, g_lo, g_hi)
            except DataError as exc:
                if frame is None:
                    raise
                self.fallback(ticker, exc, f"the cache still covers {cov.start}..{cov.end} only")
                continue
            pieces.append(got)
            if lo is not None and g_hi < lo:
                lo = g_lo  # the data may start later than asked: a listing
                continue
            reached = _reached(got.index[-1], g_hi)
            if reached < g_hi:
                self.notes.append(
                    f"{ticker}: {self.source.name} has prices through {reached:%Y-%m-%d} only "
                    f"(asked through {g_hi:%Y-%m-%d}); the cache records no more than that"
                )
            lo, hi = (g_lo, reached) if lo is None else (lo, max(hi, reached))
        if len(pieces) == (frame is not None):
            return frame, "cache"
        merged = pd.concat(pieces).sort_index()
        if self.cache is not None:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            new = Coverage(ticker, f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}", self.source.name, now, len(merged))
            try:
                self.cache.write(ticker, merged, new)
            except OSError as exc:
                self.notes.append(
                    f"could not write {ticker} to the cache at {self.cache.root} ({exc.strerror or exc}); "
                    "the data was used but not kept"
                )
        return merged, self.source.name

    def _download(self, ticker: str, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
        """The source's rows for ``[lo, hi]``, checked: rows outside the range dropped, copies
        of a row merged, two different rows for one date refused, prices sanitized (so the
        cache never stores a bad cell). Once the source has found no network, it is not asked
        again: each ticker then fails alike at once (yfinance takes a quarter of a second a ticker
        to find out, a minute and a half for a study of 350 names)."""
        if self.unreachable is not None:
            raise self.unreachable.again(ticker, f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}")
        try:
            fetched = self.source.fetch(ticker, lo, hi)
        except NoNetworkError as exc:
            self.unreachable = exc
            raise
        got = conform(fetched).loc[lo:hi]
        clash = duplicate_dates(got)
        if len(clash):
            raise DataError(
                f"{self.source.name} returned different rows for the same date for {ticker} "
                f"({', '.join(f'{d:%Y-%m-%d}' for d in clash[:3])}): the download is not trusted"
            )
        got, note = sanitize(merge_copies(got), ticker)
        if note:
            self.notes.append(f"{note} (in the download)")
        got = got.dropna(how="all", subset=PRICE_FIELDS)
        if got.empty:
            raise PricesMissingError([ticker], f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}")
        return got


def _reached(last: pd.Timestamp, asked: pd.Timestamp) -> pd.Timestamp:
    """How far a download reached: ``asked`` when no NYSE session follows its last row up to
    ``asked`` (a weekend, a holiday), else the last row (a short download: the rest may come
    later, so the cache must not claim it)."""
    return last if len(sessions(last + pd.Timedelta(days=1), asked)) else asked


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
        cache if cache is not None else PriceCache(),
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
            failed[ticker] = getattr(exc, "reason", str(exc))
        if progress:
            progress(i + 1, len(unique), ticker)
    return PriceData(frames, origin, failed, loader.all_notes(), loader.extent)


def load_market_data(tickers: Sequence[str], start: object, end: object, **kwargs) -> MarketData:
    """:func:`load_prices` plus the snapshot's tables (share counts and factors are not
    downloaded: they come from filings and Ken French's library, committed with provenance)."""
    snap = kwargs.get("snapshot") or default_snapshot()
    return MarketData(
        prices=load_prices(tickers, start, end, **kwargs),
        companies=snap.table("companies"),
        shares=snap.table("shares_outstanding"),
        implied_shares=snap.table("market_values_2026"),
        factors=snap.factors(),
    )
