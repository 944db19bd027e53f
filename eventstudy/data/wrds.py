"""Fetch a study's CRSP data from WRDS into the parquet files a ``[data]`` table reads.

Needs the optional ``wrds`` package (``pip install 'eventstudy-workbench[wrds]'``) and a WRDS
account; ``connection`` may be any object with WRDS's ``raw_sql(sql, params=...)`` (the tests
pass a fake that records the SQL). Asks only for the study's tickers and span: the names for
the tickers, then the daily stock file (and the delisting file) for their PERMNOs, and the
market index. CIZ by default (``crsp.stksecurityinfohist``, ``crsp.dsf_v2``,
``crsp.inddlyseriesdata`` index 1000200, the value-weighted market), or CRSP's legacy tables
(``crsp.stocknames``, ``crsp.dsf``, ``crsp.dsedelist``, ``crsp.dsi``; data to December 2024).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import DataError
from .store import write_atomic

LEGACY = {
    "stocknames": "select permno, ticker, comnam, namedt, nameenddt from crsp.stocknames "
    "where ticker in %(tickers)s and nameenddt >= %(start)s and namedt <= %(end)s",
    "dsf": "select permno, date, ret, retx, prc, vol, shrout, openprc, bidlo, askhi from crsp.dsf "
    "where permno in %(permnos)s and date between %(start)s and %(end)s",
    "dsedelist": "select permno, dlstdt, dlret, dlstcd from crsp.dsedelist "
    "where permno in %(permnos)s and dlstdt between %(start)s and %(end)s",
    "dsi": "select date, vwretd, vwretx, ewretd, ewretx, sprtrn from crsp.dsi where date between %(start)s and %(end)s",
}
# CIZ (CRSP's format since 2022, the only one after December 2024): DlyRet includes the
# delisting return, so there is no delisting file; the market is index 1000200 (value-weighted)
CIZ = {
    "stocknames": "select permno, ticker, issuernm, secinfostartdt, secinfoenddt from crsp.stksecurityinfohist "
    "where ticker in %(tickers)s and secinfoenddt >= %(start)s and secinfostartdt <= %(end)s",
    "dsf": "select permno, dlycaldt, dlyret, dlyretx, dlyprc, dlyvol, shrout, dlyopen, dlyhigh, dlylow "
    "from crsp.dsf_v2 where permno in %(permnos)s and dlycaldt between %(start)s and %(end)s",
    "dsi": "select dlycaldt as date, dlytotret as vwretd from crsp.inddlyseriesdata "
    "where indno = 1000200 and dlycaldt between %(start)s and %(end)s",
}
LAYOUTS = {"ciz": CIZ, "legacy": LEGACY}


def connect():
    """A WRDS connection (asks for the user name and password the first time, as ``wrds`` does)."""
    try:
        import wrds
    except ImportError:
        raise DataError(
            "fetch-wrds needs the wrds package: pip install 'eventstudy-workbench[wrds]' (and a WRDS account)"
        ) from None
    return wrds.Connection()


def fetch_wrds(
    tickers: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    out: Path,
    connection=None,
    layout: str = "ciz",
) -> dict[str, Path]:
    """Write ``stocknames``, ``dsf`` and ``dsi`` (and, in the legacy layout, ``dsedelist``) as
    parquet files in ``out`` (made if absent; a file of those names already there is refused,
    never overwritten)."""
    queries = LAYOUTS[layout]
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.parquet" for name in queries}
    there = [p.name for p in paths.values() if p.exists()]
    if there:
        raise DataError(f"{out} already holds {', '.join(there)}: choose another --out folder or move them")
    db = connection if connection is not None else connect()
    span = {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}
    names = db.raw_sql(queries["stocknames"], params={"tickers": tuple(sorted(set(tickers))), **span})
    if names.empty:
        raise DataError(f"WRDS's names table has none of the tickers {', '.join(sorted(set(tickers)))}")
    permnos = tuple(sorted({int(p) for p in names.permno}))
    frames = {"stocknames": names}
    for name, sql in queries.items():
        if name != "stocknames":
            frames[name] = db.raw_sql(sql, params=span if name == "dsi" else {"permnos": permnos, **span})
    for name, frame in frames.items():
        write_atomic(paths[name], lambda tmp, f=frame: f.to_parquet(tmp, index=False))  # whole, or not at all
    return paths


def data_table(paths: dict[str, Path], folder: Path) -> str:
    """The ``[data]`` table that reads the fetched files, paths relative to the study's folder."""
    keys = {"dsf": "returns", "stocknames": "names", "dsi": "market", "dsedelist": "delisting"}
    rel = {k: Path(os.path.relpath(v.resolve(), folder.resolve())).as_posix() for k, v in paths.items()}
    lines = "\n".join(f'{keys[k]} = "{v}"' for k, v in rel.items())
    return f'[data]\n{lines}\n\nand set model.benchmark = "vwretd"'
