"""Share counts and market values: shares × traded close, both on one split basis.

Share-count rules (per class row of the filings table, valued at its ``price_ticker``):
the latest filed count on or before the date (``filed``); else the nearest later filed count
(``filed after``); else the implied 2026 count (``implied, 2026``: market value / close on
2026-05-29, valued at the listed class's price); else no market value. ``TOTAL`` rows are
sums of the class rows and are never added to them. A filed count dated before a split that
the price series records is multiplied by the split ratios after it (prices are on the split
basis of their download).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.returns import stack
from ..data.loader import MarketData


@dataclass(frozen=True)
class ShareClass:
    firm: str
    share_class: str
    price_ticker: str
    shares: float
    as_of: pd.Timestamp | None
    flag: str
    source: str


def _as_of(value: object) -> pd.Timestamp | None:
    """A filing date: a day, a month (taken as its last day) or empty."""
    if value is None or pd.isna(value) or str(value).strip() in ("", "n/a"):
        return None
    text = str(value)
    return pd.Timestamp(text) + pd.offsets.MonthEnd(0) if len(text) == 7 else pd.Timestamp(text)


def share_classes(
    firm: str, date: object, filed: pd.DataFrame, implied: pd.DataFrame, primary_of: dict[str, str]
) -> list[ShareClass]:
    """The share classes that value ``firm`` on ``date``, each with its flag (see module doc)."""
    return ShareBook(filed, implied, primary_of).classes(firm, date)


class ShareBook:
    """The filings and the implied counts, indexed by firm once for many look-ups (each firm's
    rows as records: a study values hundreds of firms, one look-up each)."""

    def __init__(self, filed: pd.DataFrame, implied: pd.DataFrame, primary_of: dict[str, str]) -> None:
        rows = filed[filed.share_class != "TOTAL"]
        self.filed: dict[str, list] = {}  # ticker → its filings, in the table's order
        for r in rows.assign(when=[_as_of(v) for v in rows.as_of]).itertuples():
            self.filed.setdefault(r.ticker, []).append(r)
        self.implied: dict[str, tuple] = {}  # firm → the first implied count of its listings
        for firm, r in zip([primary_of.get(t, t) for t in implied.ticker], implied.itertuples(), strict=True):
            self.implied.setdefault(firm, r)

    def classes(self, firm: str, date: object) -> list[ShareClass]:
        date = pd.Timestamp(date)
        dated = self.filed.get(firm)
        if dated is not None:
            before = [r for r in dated if pd.notna(r.when) and r.when <= date]
            after = [r for r in dated if pd.notna(r.when) and r.when > date]
            undated = [r for r in dated if pd.isna(r.when)]
            for pick, flag in ((before, "filed"), (after, "filed after"), (undated, "filed, undated")):
                if pick:
                    return [
                        ShareClass(
                            firm,
                            r.share_class,
                            r.price_ticker or firm,
                            float(r.shares),
                            r.when if pd.notna(r.when) else None,
                            flag,
                            r.source,
                        )
                        for r in pick
                    ]
        r = self.implied.get(firm)
        if r is not None:
            return [
                ShareClass(
                    firm,
                    "all (implied)",
                    r.ticker,
                    float(r.implied_shares),
                    pd.Timestamp(r.close_date),
                    "implied, 2026",
                    "market_values_2026.csv: market value / close on 2026-05-29",
                )
            ]
        return []


def split_factor(splits: pd.Series | None, after: pd.Timestamp | None) -> float:
    """Product of the split ratios recorded after ``after`` (1 when none are recorded)."""
    if splits is None or after is None:
        return 1.0
    s = splits[(splits.index > after) & (splits > 0)].dropna()
    return float(np.prod(s.to_numpy())) if len(s) else 1.0


def market_values(
    firms: list[str],
    dates: pd.DatetimeIndex,
    closes: pd.DataFrame,
    splits: pd.DataFrame,
    filed: pd.DataFrame | ShareBook,
    implied: pd.DataFrame,
    primary_of: dict[str, str],
    ref: pd.Timestamp,
    fallback_closes: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dates × firms of market values (USD), and per firm its share basis: ``firm, shares,
    flag, classes, price_basis``; share counts are chosen as of ``ref`` (the event day).
    ``closes`` are traded closes by listed ticker; where a ticker has none,
    ``fallback_closes`` (adjusted) are used and ``price_basis`` says so. ``filed`` is the
    filings table, or a :class:`ShareBook` already made of it and ``implied``."""
    book = filed if isinstance(filed, ShareBook) else ShareBook(filed, implied, primary_of)
    traded = _Columns(closes, dates)
    adjusted = _Columns(fallback_closes, dates) if fallback_closes is not None else None
    values, info = np.full((len(dates), len(firms)), np.nan), []
    for j, firm in enumerate(firms):
        classes = book.classes(firm, ref)
        total, basis = np.zeros(len(dates)), "traded close"
        for c in classes:
            px = traded.get(c.price_ticker)
            if traded.empty(c.price_ticker) and adjusted is not None and c.price_ticker in adjusted:
                px, basis = adjusted.get(c.price_ticker), "adjusted close (understates by dividends since)"
            factor = split_factor(splits.get(c.price_ticker), c.as_of) if c.flag != "implied, 2026" else 1.0
            total = total + px * c.shares * factor
        if not classes:
            basis = "no share count"
        else:
            values[:, j] = total
        info.append(
            {
                "firm": firm,
                "shares": sum(c.shares for c in classes) if classes else np.nan,
                "flag": classes[0].flag if classes else "none",
                "classes": "; ".join(f"{c.share_class}@{c.price_ticker}" for c in classes),
                "price_basis": basis,
            }
        )
    return pd.DataFrame(values, index=dates, columns=pd.Index(firms)), pd.DataFrame(info)


class _Columns:
    """A price table's columns on ``dates`` as arrays (NaN for a ticker it lacks); ``empty``
    asks whether the table has no price at all for a ticker, on any of its dates."""

    def __init__(self, table: pd.DataFrame, dates: pd.DatetimeIndex) -> None:
        self.values = table.reindex(dates).to_numpy(dtype="float64")
        self.position = {t: i for i, t in enumerate(table.columns)}
        self.has_any = dict(zip(table.columns, table.notna().any().to_numpy(), strict=True))
        self.missing = np.full(len(dates), np.nan)

    def __contains__(self, ticker: str) -> bool:
        return ticker in self.position

    def get(self, ticker: str) -> np.ndarray:
        return self.values[:, self.position[ticker]] if ticker in self.position else self.missing

    def empty(self, ticker: str) -> bool:
        return not self.has_any.get(ticker, False)


NO_COUNT = "no share count"


def class_tickers(filed: pd.DataFrame, firms: list[str]) -> list[str]:
    """The listings besides ``firms`` whose closes value their share classes (GOOG for GOOGL)."""
    rows = filed[filed.ticker.isin(firms) & (filed.share_class != "TOTAL")]
    return sorted(set(rows.price_ticker.dropna()) - set(firms))


def pre_event_values(
    events: pd.DataFrame,
    closes: pd.DataFrame,
    splits: pd.DataFrame,
    filed: pd.DataFrame,
    implied: pd.DataFrame,
    primary_of: dict[str, str],
) -> pd.DataFrame:
    """Each event's issuer valued at the close of the session before its day 0, with the share
    counts of day 0 (the rules above): ``event_id, market_value`` (USD) ``, shares_flag`` (the
    kind of share count, or :data:`NO_COUNT`).
    ``events``: ``event_id, ticker, event_date``; ``closes``: traded closes by listed ticker
    on consecutive sessions. A listing that is not its issuer's primary one is valued as the
    issuer (GOOG as Alphabet); no share count or no close the session before is a missing value."""
    sessions = closes.index
    book = ShareBook(filed, implied, primary_of)
    rows = []
    for ev in events[["event_id", "ticker", "event_date"]].itertuples(index=False):
        firm, pos = primary_of.get(ev.ticker, ev.ticker), sessions.searchsorted(ev.event_date) - 1
        if pos < 0:
            rows.append((ev.event_id, np.nan, NO_COUNT))
            continue
        mv, info = market_values([firm], sessions[[pos]], closes, splits, book, implied, primary_of, ev.event_date)
        flag = info.flag.iloc[0]
        rows.append((ev.event_id, float(mv.iloc[0, 0]), NO_COUNT if flag == "none" else flag))
    return pd.DataFrame(rows, columns=["event_id", "market_value", "shares_flag"])


def stock_values(data: MarketData, returns: pd.DataFrame, primary_of, companies, firms, date):
    """Market values of the study's firms and of every other stock loaded (for value weights)."""
    listed = [t for t in companies.ticker[companies.asset_type == "stock"] if primary_of.get(t, t) == t]
    stocks = list(dict.fromkeys([*firms, *(t for t in listed if t in data.prices.frames)]))
    frames = data.prices.frames
    closes, fallback = (
        pd.DataFrame(v, returns.index, list(frames)) for v in stack(frames, returns.index, "close", "adj_close")
    )
    splits = data.prices.panel("splits")
    mv, info = market_values(
        stocks, returns.index, closes, splits, data.shares, data.implied_shares, primary_of, date, fallback
    )
    return mv, info
