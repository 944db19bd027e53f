"""A study's own data files (``[data]`` of a study file): CRSP's daily stock file in its legacy
or CIZ layout, any long file of returns, or a wide one (a column per security); a market file;
CRSP's delisting file; Ken French's factor files; a names file; each read lazily (only the
study's securities and span), checked, and described (path, size, rows, sha256) for the
provenance.

May import: ``eventstudy.core`` (the calendar), ``eventstudy.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...core.calendar import sessions
from ...errors import DataFileError
from . import table
from .french import read_factors
from .market import read_market
from .names import NameBook, read_names
from .provenance import file_facts
from .returns import read_returns
from .spec import SHAPES, UNITS, DataSpec, Layout, resolve_layout

FRAME_COLUMNS = ("open", "high", "low", "close", "adj_close", "dividends", "splits", "volume")

__all__ = [
    "SHAPES",
    "UNITS",
    "DataSpec",
    "FileData",
    "Layout",
    "NameBook",
    "file_facts",
    "layout_of",
    "load_files",
    "read_factors",
    "read_market",
    "read_names",
]


def layout_of(spec: DataSpec) -> Layout:
    """The returns file's layout, from its header (the file itself is not read); a name given
    to two columns is refused (which one holds the returns?)."""
    names = table.header(spec.returns)
    if twice := table.repeated(spec.returns):
        raise DataFileError(spec.returns, f"its header names two columns {twice[0]!r}: name each column once")
    return resolve_layout(spec.returns, names, spec.columns, spec.shares_scale, spec.layout)


@dataclass(frozen=True)
class FileData:
    """A study's data from its files over ``sessions``: ``returns`` (sessions × identifiers,
    decimals), per identifier a price frame (``|price|`` as the close, the day's open, high,
    low and volume where the file has them), ``market_values`` (sessions × identifiers: |price| ×
    shares × the layout's scale), the market series (sessions × series), factor tables (empty:
    the shipped ones), identifiers without rows (→ why), notes, and the files' facts."""

    returns: pd.DataFrame
    frames: dict[str, pd.DataFrame]
    market_values: pd.DataFrame
    market: pd.DataFrame
    factors: dict[str, pd.DataFrame]
    missing: dict[str, str]
    notes: tuple[str, ...]
    files: pd.DataFrame
    layout: Layout
    delisted: dict[str, str]


def load_files(
    spec: DataSpec, ids: list[str], start: pd.Timestamp, end: pd.Timestamp, exchange: str, every: bool = False
) -> FileData:
    """The rows of ``ids`` from ``start`` to ``end`` on the calendar ``exchange``, and those of
    every other security of the file too when ``every`` (a constructed index, a market's
    turnover needs them all); ``missing`` says why each of ``ids`` without returns has none."""
    layout = layout_of(spec)
    days = sessions(start, end, exchange)
    got = read_returns(spec, layout, None if every else ids, start, end, exchange)
    long = got.frame
    ids = list(dict.fromkeys(ids))
    wanted = sorted(set(long.id)) if every else ids
    returns = _wide(long, "ret", days, wanted)
    present = set(long.id[long.ret.notna()])
    missing = {
        i: f"no returns in {spec.returns.name} from {start:%Y-%m-%d} to {end:%Y-%m-%d}" for i in ids if i not in present
    }
    price = _wide(long, "price", days, wanted).abs()
    shares = _wide(long, "shares", days, wanted) * layout.shares_scale
    frames = _frames(long, days, wanted, price)
    market = read_market(spec.market, spec.units, spec.date_format).reindex(days) if spec.market else None
    factors = {}
    for f in spec.factors:
        factors |= read_factors(f, spec.date_format)
    facts = [file_facts(role, path) for role, path in spec.files().items()]
    files = pd.DataFrame(facts).assign(rows_read=lambda f: np.where(f.role == "returns", got.rows_read, np.nan))
    marked = long[long.delisted != ""] if "delisted" in long else None
    delisted = {} if marked is None else dict(zip(marked.id, marked.delisted, strict=True))
    return FileData(
        returns=returns,
        frames=frames,
        market_values=price * shares,
        market=market if market is not None else pd.DataFrame(index=days),
        factors=factors,
        missing=missing,
        notes=got.notes,
        files=files,
        layout=layout,
        delisted=delisted,
    )


def _wide(long: pd.DataFrame, role: str, days: pd.DatetimeIndex, ids: list[str]) -> pd.DataFrame:
    if role not in long:
        return pd.DataFrame(np.nan, index=days, columns=pd.Index(ids))
    table_ = long.pivot(index="date", columns="id", values=role)
    return table_.reindex(index=days, columns=ids).astype("float64")


def _frames(long: pd.DataFrame, days: pd.DatetimeIndex, ids: list[str], price: pd.DataFrame) -> dict:
    cols = {c: _wide(long, c, days, ids) for c in ("open", "high", "low", "volume")}
    out = {}
    for i in ids:
        frame = pd.DataFrame(np.nan, index=days, columns=list(FRAME_COLUMNS))
        frame["close"] = price[i]
        frame["dividends"] = 0.0
        for c, wide in cols.items():
            frame[c] = wide[i].abs() if c != "volume" else wide[i]
        out[i] = frame
    return out


def data_calendar(spec: DataSpec) -> pd.DatetimeIndex:
    """The market file's dates: the sessions of ``calendar = "data"``."""
    if spec.market is None:
        raise DataFileError(spec.returns, 'calendar = "data" counts in the market file\'s dates: set [data] market')
    return read_market(spec.market, spec.units, spec.date_format).index
