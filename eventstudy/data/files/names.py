"""A names file: which identifier a ticker named on a date (CRSP's stocknames: ``PERMNO,
TICKER, COMNAM, NAMEDT, NAMEENDT``; CIZ's ``Ticker, IssuerNm, SecInfoStartDt, SecInfoEndDt``).
Tickers are reused, so a ticker is matched to the identifier valid on the event's date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import DataFileError
from . import table

ROLES = {
    "id": ("permno", "id"),
    "ticker": ("ticker", "tsymbol"),
    "name": ("comnam", "issuernm", "name", "company"),
    "start": ("namedt", "secinfostartdt", "start", "st_date"),
    "end": ("nameenddt", "nameendt", "secinfoenddt", "end", "end_date"),
}


@dataclass(frozen=True)
class NameBook:
    """The names file: ``id, ticker, name, start, end`` (an open end is far in the future)."""

    path: Path
    frame: pd.DataFrame
    id_column: str

    def lookup(self, ticker: str, date: pd.Timestamp) -> str | None:
        """The identifier ``ticker`` named on ``date`` (None: none); two is an error naming both."""
        f = self.frame
        hit = f[(f.ticker == ticker) & (f.start <= date) & (f.end >= date)]
        ids = list(dict.fromkeys(hit.id))
        if len(ids) > 1:
            both = "; ".join(
                f"{self.id_column} {r.id} ({r.name}, {r.start:%Y-%m-%d} .. {r.end:%Y-%m-%d})" for r in hit.itertuples()
            )
            raise DataFileError(
                self.path, f"the ticker {ticker} names two identifiers on {date:%Y-%m-%d}: {both}; list the identifier"
            )
        return ids[0] if ids else None

    def company(self, ident: str, date: pd.Timestamp) -> tuple[str, str]:
        """The ticker and company name of ``ident`` on ``date`` (its latest before, else blank)."""
        f = self.frame[(self.frame.id == ident) & (self.frame.start <= date)]
        if f.empty:
            return "", ""
        r = f.iloc[-1]
        return str(r.ticker), str(r["name"])


OPEN_END = pd.Timestamp("2262-01-01")  # a name still in use (no end, or CRSP's 99991231: past pandas' dates)


def read_names(path: Path, date_format: str = "") -> NameBook:
    cols = table.header(path)
    lower = {c.lower(): c for c in cols}
    roles = {r: next((lower[n] for n in names if n in lower), None) for r, names in ROLES.items()}
    missing = [r for r in ("id", "ticker", "start") if roles[r] is None]
    if missing:
        raise DataFileError(
            path,
            f"a names file has PERMNO, TICKER, NAMEDT (and NAMEENDT, COMNAM); no {' / '.join(missing)} column "
            f"(columns: {', '.join(cols[:12])})",
        )
    use = {r: c for r, c in roles.items() if c}
    frame = table.read(path, list(use.values()), use["id"]).rename(columns={v: k for k, v in use.items()})
    frame["ticker"] = frame.ticker.astype(str).str.strip().str.upper()
    frame["name"] = frame["name"].astype(str).str.strip() if "name" in frame else ""
    frame["start"] = table.dates(path, frame, "start", date_format, key="id", name=use["start"])
    if "end" in frame:
        text = frame.end.astype("string").str.strip()
        still = text.isna() | (text == "") | (text.str.extract(r"^(\d{4})", expand=False).astype(float) > OPEN_END.year)
        ends = table.dates(path, frame, "end", date_format, key="id", name=use["end"], blank=still)
        frame["end"] = ends.mask(still, OPEN_END)
    else:
        frame["end"] = OPEN_END
    frame = frame.sort_values(["id", "start"], ignore_index=True)
    _no_overlaps(path, frame, use["id"])
    return NameBook(path, frame[["id", "ticker", "name", "start", "end"]], use["id"])


def _no_overlaps(path: Path, frame: pd.DataFrame, id_column: str) -> None:
    """One identifier's ranges must not overlap: which name held on a day would be ambiguous."""
    same = frame.id.eq(frame.id.shift())
    clash = np.flatnonzero((same & (frame.start <= frame.end.shift())).to_numpy())
    if len(clash):
        i = clash[0]
        a, b = frame.iloc[i - 1], frame.iloc[i]
        raise DataFileError(
            path,
            f"the ranges of {id_column} {b.id} overlap: {a.ticker} {a.start:%Y-%m-%d} .. {a.end:%Y-%m-%d} and "
            f"{b.ticker} {b.start:%Y-%m-%d} .. {b.end:%Y-%m-%d}; each day must have one name",
            row=table.where(frame, i, "id", "start"),
        )
