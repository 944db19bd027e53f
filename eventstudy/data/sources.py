"""Where prices come from when the committed snapshot and the cache lack them: yfinance (the
only module that imports it).

A source answers ``fetch(ticker, start, end)`` with a frame in the :mod:`.store` format, or
raises a :class:`~eventstudy.errors.DataError` that names the ticker.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Protocol

import pandas as pd

from ..errors import DownloadError, NoNetworkError, PricesMissingError, RateLimitError
from .store import PRICE_COLUMNS, conform

_YF_COLUMNS = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
    "Dividends": "dividends",
    "Stock Splits": "splits",
}


# how yfinance says it found no network, most specific first
_NO_NETWORK = (r"Could not resolve host: [\w.-]+", r"Connection refused", r"Network is unreachable", r"DNSError")


def _no_network(said: str) -> str:
    return next((m.group(0) for p in _NO_NETWORK if (m := re.search(p, said))), "")


class _Heard(logging.Handler):
    """Collects what yfinance logs during one call (it logs failures instead of raising)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.lines.extend(ln.strip() for ln in record.getMessage().splitlines() if ln.strip())

    def said(self) -> str:
        """yfinance's last complaint, on one line ("" if it said nothing)."""
        if not self.lines:
            return ""
        line = re.sub(r"^\[[^\]]*\]:\s*", "", self.lines[-1])  # "['NVDA']: DNSError(...)"
        line = re.sub(r"\.? See https?://\S+.*", "", line)
        return line if len(line) <= 200 else line[:197] + "..."


@contextlib.contextmanager
def _quiet() -> Iterator[_Heard]:
    """Nothing yfinance (or pandas inside it) logs, warns or prints reaches the user; what it
    logged is kept, so a failure can quote it in one line of ours."""
    logger, heard = logging.getLogger("yfinance"), _Heard()
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [heard], False
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield heard
    finally:
        logger.handlers, logger.propagate = saved


class PriceSource(Protocol):
    name: str

    def fetch(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame: ...


def parse_yfinance_frame(raw: pd.DataFrame | None, ticker: str) -> pd.DataFrame:
    """yfinance's frame (single-level columns, or MultiIndex ``(Price, Ticker)`` either way
    round) as the common format; rows without any price are dropped."""
    if raw is None or raw.empty:
        return conform(pd.DataFrame(columns=PRICE_COLUMNS, index=pd.DatetimeIndex([])))
    frame = raw
    if isinstance(raw.columns, pd.MultiIndex):
        level = next((i for i in range(raw.columns.nlevels) if ticker in raw.columns.get_level_values(i)), None)
        if level is None:
            return parse_yfinance_frame(None, ticker)
        frame = raw.xs(ticker, axis=1, level=level)
    frame = conform(frame.rename(columns=_YF_COLUMNS))
    return frame.dropna(how="all", subset=["open", "high", "low", "close", "adj_close"])


class YFinanceSource:
    """Daily OHLCV, dividends and splits from Yahoo through yfinance, ``auto_adjust=False``.

    All network traffic goes through :meth:`_get_response`. yfinance logs instead of raising
    when it gets nothing (offline, unknown ticker): an empty answer becomes
    :class:`PricesMissingError`. A rate limit or a failed call is retried ``retries`` times with
    exponential backoff, then raised as :class:`RateLimitError` / :class:`DownloadError`.
    """

    name = "yfinance"

    def __init__(
        self,
        *,
        retries: int = 3,
        backoff: float = 2.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retries, self.backoff, self.timeout, self._sleep = retries, backoff, timeout, sleep
        self._no_network = ""  # what yfinance said when it last found no network

    def _get_response(self, kind: str, ticker: str, start: pd.Timestamp, end: pd.Timestamp):
        """The one place that talks to Yahoo: ``kind`` is ``prices`` or ``shares``."""
        import yfinance as yf

        if kind == "shares":
            return yf.Ticker(ticker).get_shares_full(start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}")
        return yf.download(
            ticker,
            start=f"{start:%Y-%m-%d}",
            end=f"{end + pd.Timedelta(days=1):%Y-%m-%d}",
            auto_adjust=False,
            actions=True,
            progress=False,
            threads=False,
            timeout=self.timeout,
        )

    def _call(self, kind: str, ticker: str, start: pd.Timestamp, end: pd.Timestamp):
        """:meth:`_get_response` with bounded retries and exponential backoff, yfinance kept
        quiet: the answer, and yfinance's last complaint on one line ("" if none)."""
        from yfinance.exceptions import YFRateLimitError

        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with _quiet() as heard:
                    answer = self._get_response(kind, ticker, start, end)
                return answer, heard.said()
            except (YFRateLimitError, OSError, TimeoutError, ValueError, RuntimeError) as exc:
                last = exc
        tries = self.retries + 1
        if isinstance(last, YFRateLimitError):
            raise RateLimitError(
                f"Yahoo rate-limited the download of {ticker} {tries} times; "
                "wait a few minutes and retry, or run --offline"
            ) from last
        raise DownloadError(
            f"downloading {ticker} failed {tries} times ({last}); check the network, or run --offline"
        ) from last

    def fetch(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        raw, said = self._call("prices", ticker, start, end)
        frame = parse_yfinance_frame(raw, ticker)
        if frame.empty:
            a, b = f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"
            self._no_network = _no_network(said) or self._no_network
            if self._no_network:  # yfinance then blames the ticker ("possibly delisted") for a while
                why = f"no network: yfinance could not reach Yahoo ({self._no_network})"
                raise NoNetworkError([ticker], a, b, why=why, hint="Check the network, or run --offline.")
            why = f"yfinance returned an empty frame ({said})" if said else ""
            raise PricesMissingError([ticker], a, b, why=why)
        return frame

    def shares(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
        """Shares outstanding over time as Yahoo reports them (``Ticker.get_shares_full``), by
        naive date, last report of a day kept. Yahoo has no such series for some tickers (ETFs,
        indices, some ADRs): that is a :class:`PricesMissingError` naming the ticker."""
        raw, _ = self._call("shares", ticker, start, end)
        if raw is None or len(raw) == 0:
            raise PricesMissingError(
                [ticker], f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}", why="Yahoo reports no share counts for it"
            )
        series = pd.Series(raw, dtype="float64")
        idx = pd.DatetimeIndex(series.index)
        series.index = (idx.tz_localize(None) if idx.tz is not None else idx).normalize().rename("date")
        return series[~series.index.duplicated(keep="last")].sort_index().rename("shares")
