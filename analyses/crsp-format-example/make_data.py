"""Write this example's data files in CRSP's layouts from the committed snapshot's real prices.

    python analyses/crsp-format-example/make_data.py

- ``dsf.csv``: CRSP's legacy daily stock file layout (``PERMNO, DATE, RET, RETX, PRC, VOL,
  SHROUT, OPENPRC, BIDLO, ASKHI``; dates YYYYMMDD). RET is the snapshot's total return
  ((close + dividend) / previous close − 1, exactly as eventstudy computes it from the
  snapshot), RETX the price return, PRC the traded close, VOL the volume; the first day has
  no previous price, so RET and RETX are CRSP's code "C". SHROUT (thousands) is the share count
  the snapshot values each firm with on the event day, on the prices' split basis, one value
  for every date.
- ``stocknames.csv``: the PERMNOs, which this script assigns (they are not CRSP's), with the
  tickers and company names of the snapshot's company list, valid over the whole span.
- ``dsi.csv``: a market file with the total daily returns of SPY and QQQ (two ETFs of the
  snapshot), in the place of CRSP's vwretd and ewretd.

Nothing is invented: every number is the snapshot's, rearranged. Rerunning gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.core.returns import session_returns, stack
from eventstudy.data.snapshot import default_snapshot
from eventstudy.study import marketvalue
from eventstudy.study.universe import primary_listing

HERE = Path(__file__).parent
FIRMS = ["NVDA", "MSFT", "GOOGL", "AMZN", "TSLA", "AVGO", "AMD", "MU", "ORCL", "META"]
MARKET = ["SPY", "QQQ"]
EVENT = pd.Timestamp("2025-01-27")
FIRST_PERMNO = 90001  # assigned here, one per firm in the order of FIRMS


def main() -> None:
    snap = default_snapshot()
    frames = {t: snap.prices(t)[0] for t in [*FIRMS, *MARKET]}
    start, end = min(f.index[0] for f in frames.values()), max(f.index[-1] for f in frames.values())
    total, _ = session_returns(frames, start, end, "total")
    price, _ = session_returns(frames, start, end, "price")
    days = total.index
    close, opens, high, low, volume = (
        pd.DataFrame(v, days, list(frames)) for v in stack(frames, days, "close", "open", "high", "low", "volume")
    )
    shares = _shares(snap, close, frames)
    rows = []
    for k, t in enumerate(FIRMS):
        part = pd.DataFrame(
            {
                "PERMNO": FIRST_PERMNO + k,
                "DATE": days.strftime("%Y%m%d"),
                "RET": _crsp(total[t]),
                "RETX": _crsp(price[t]),
                "PRC": close[t].map("{:.17g}".format),
                "VOL": volume[t].map("{:.0f}".format),
                "SHROUT": f"{shares[t] / 1000:.6f}",
                "OPENPRC": opens[t].map("{:.17g}".format),
                "BIDLO": low[t].map("{:.17g}".format),
                "ASKHI": high[t].map("{:.17g}".format),
            }
        )
        rows.append(part[close[t].notna().to_numpy()])
    pd.concat(rows).to_csv(HERE / "dsf.csv", index=False, lineterminator="\n")
    companies = snap.table("companies").set_index("ticker")
    names = pd.DataFrame(
        {
            "PERMNO": [FIRST_PERMNO + k for k in range(len(FIRMS))],
            "NAMEDT": f"{start:%Y%m%d}",
            "NAMEENDT": f"{end:%Y%m%d}",
            "TICKER": FIRMS,
            "COMNAM": [str(companies.at[t, "name"]).upper() for t in FIRMS],
        }
    )
    names.to_csv(HERE / "stocknames.csv", index=False, lineterminator="\n")
    market = pd.DataFrame({"DATE": days.strftime("%Y%m%d"), **{m.lower(): _crsp(total[m]) for m in MARKET}})
    market.iloc[1:].to_csv(HERE / "dsi.csv", index=False, lineterminator="\n")


def _crsp(ret: pd.Series) -> pd.Series:
    """Returns at full precision; a day without a return (the first) is CRSP's code C."""
    return ret.map(lambda r: "C" if np.isnan(r) else f"{r:.17g}")


def _shares(snap, close: pd.DataFrame, frames: dict) -> dict[str, float]:
    """Each firm's share count on the event day, in units of its own listing's close: its market
    value at the close before the event (the snapshot's rules) over that close."""
    companies, filed, implied = snap.table("companies"), snap.table("shares_outstanding"), snap.table("market_values_2026")
    primary_of = primary_listing(companies, filed)
    classes = marketvalue.class_tickers(filed, FIRMS)
    more = {t: snap.prices(t)[0] for t in classes}
    closes = pd.concat([close, pd.DataFrame({t: f.close for t, f in more.items()}).reindex(close.index)], axis=1)
    splits = pd.DataFrame({t: f.splits for t, f in {**frames, **more}.items()}).reindex(close.index)
    mv, _ = marketvalue.market_values(FIRMS, close.index, closes, splits, filed, implied, primary_of, EVENT)
    before = close.index[close.index.get_loc(EVENT) - 1]
    return {t: float(mv.at[before, t] / close.at[before, t]) for t in FIRMS}


if __name__ == "__main__":
    main()
