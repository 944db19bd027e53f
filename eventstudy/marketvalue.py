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
    date = pd.Timestamp(date)
    rows = filed[(filed.ticker == firm) & (filed.share_class != "TOTAL")]
    if len(rows):
        dated = rows.assign(when=[_as_of(v) for v in rows.as_of])
        before = dated[dated.when.notna() & (dated.when <= date)]
        after = dated[dated.when.notna() & (dated.when > date)]
        undated = dated[dated.when.isna()]
        for pick, flag in ((before, "filed"), (after, "filed after"), (undated, "filed, undated")):
            if len(pick):
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
                    for r in pick.itertuples()
                ]
    imp = implied[[primary_of.get(t, t) == firm for t in implied.ticker]]
    if len(imp):
        r = imp.iloc[0]
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
    filed: pd.DataFrame,
    implied: pd.DataFrame,
    primary_of: dict[str, str],
    ref: pd.Timestamp,
    fallback_closes: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dates × firms of market values (USD), and per firm its share basis: ``firm, shares,
    flag, classes, price_basis``; share counts are chosen as of ``ref`` (the event day).
    ``closes`` are traded closes by listed ticker; where a ticker has none,
    ``fallback_closes`` (adjusted) are used and ``price_basis`` says so."""
    values, info = {}, []
    for firm in firms:
        classes = share_classes(firm, ref, filed, implied, primary_of)
        total, basis = pd.Series(0.0, index=dates), "traded close"
        for c in classes:
            px = closes[c.price_ticker] if c.price_ticker in closes else pd.Series(np.nan, index=dates)
            if px.isna().all() and fallback_closes is not None and c.price_ticker in fallback_closes:
                px, basis = fallback_closes[c.price_ticker], "adjusted close (understates by dividends since)"
            factor = split_factor(splits.get(c.price_ticker), c.as_of) if c.flag != "implied, 2026" else 1.0
            total = total + px.reindex(dates) * c.shares * factor
        if not classes:
            total, basis = pd.Series(np.nan, index=dates), "no share count"
        values[firm] = total
        info.append(
            {
                "firm": firm,
                "shares": sum(c.shares for c in classes) if classes else np.nan,
                "flag": classes[0].flag if classes else "none",
                "classes": "; ".join(f"{c.share_class}@{c.price_ticker}" for c in classes),
                "price_basis": basis,
            }
        )
    return pd.DataFrame(values, index=dates), pd.DataFrame(info)


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
    rows = []
    for ev in events[["event_id", "ticker", "event_date"]].itertuples(index=False):
        firm, pos = primary_of.get(ev.ticker, ev.ticker), sessions.searchsorted(ev.event_date) - 1
        if pos < 0:
            rows.append((ev.event_id, np.nan, NO_COUNT))
            continue
        mv, info = market_values([firm], sessions[[pos]], closes, splits, filed, implied, primary_of, ev.event_date)
        flag = info.flag.iloc[0]
        rows.append((ev.event_id, float(mv.iloc[0, 0]), NO_COUNT if flag == "none" else flag))
    return pd.DataFrame(rows, columns=["event_id", "market_value", "shares_flag"])
