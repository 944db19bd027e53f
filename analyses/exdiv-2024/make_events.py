"""Write events.csv: every cash dividend of the snapshot's stocks with its ex-date from April
2024 to June 2025 (the snapshot holds every dividend Yahoo reports; none is typed by hand).

One row per ex-dividend day of each issuer (its primary listing: an issuer counts once, so
Alphabet's GOOG and GOOGL paying on the same day are one event): ticker, date (the ex-date; the price opens without the dividend,
so ``time = before_open``), event_id, the dividend, its yield on the previous close, and a
yield band (groups). Run from the repository: ``python analyses/exdiv-2024/make_events.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eventstudy.data import default_snapshot
from eventstudy.study.universe import primary_listing

FIRST, LAST = "2024-04-01", "2025-06-20"  # estimation [-120,-11] and the path [-5,+5] fit in the data
BANDS = [0, 0.005, 0.01, float("inf")]
LABELS = ["under 0.5%", "0.5-1%", "over 1%"]


def ex_dividend_days() -> pd.DataFrame:
    snap = default_snapshot()
    companies = snap.table("companies")
    primary = primary_listing(companies, snap.table("shares_outstanding"))
    rows = []
    for ticker in companies.ticker[companies.asset_type == "stock"]:
        if primary.get(ticker, ticker) != ticker:
            continue
        frame, _ = snap.prices(ticker)
        prev = frame.close.shift(1)
        paid = frame[(frame.dividends > 0) & prev.notna()].loc[FIRST:LAST]
        for date, row in paid.iterrows():
            rows.append((ticker, date, row.dividends, row.dividends / prev[date]))
    out = pd.DataFrame(rows, columns=["ticker", "date", "dividend", "dividend_yield"])
    out["time"] = "before_open"
    out["event_id"] = out.ticker + ":" + out.date.dt.strftime("%Y-%m-%d")
    out["yield_band"] = pd.cut(out.dividend_yield, BANDS, labels=LABELS, right=False).astype(str)
    out["date"] = out.date.dt.strftime("%Y-%m-%d")
    return out[["event_id", "ticker", "date", "time", "dividend", "dividend_yield", "yield_band"]]


if __name__ == "__main__":
    target = Path(__file__).with_name("events.csv")
    events = ex_dividend_days()
    events.to_csv(target, index=False, float_format="%.10g", lineterminator="\n")
    print(f"wrote {len(events)} ex-dividend days of {events.ticker.nunique()} stocks to {target}")
