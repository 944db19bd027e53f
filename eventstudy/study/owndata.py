"""A study on its own files (``[data]``): the firms its groups or events name found in the
names file on their event dates, their rows read from the returns file, the market series and
market values from the files, ready for the same stages as the snapshot's data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.calendar import EXCHANGE, sessions_of
from ..core.models import get_model
from ..data.files import FileData, NameBook, load_files, read_names
from ..data.files.market import check_series
from ..data.loader import MarketData, PriceData
from ..data.snapshot import default_snapshot
from ..errors import DataFileError
from .horizons import CALENDAR_MODELS
from .spec import Study

FILE_FLAG = "file: |price| × shares"


@dataclass(frozen=True)
class Firms:
    """Each firm's label (the ticker the study names, or the identifier) → its identifier, the
    labels without one (→ why), and the company names."""

    ids: dict[str, str]
    unknown: dict[str, str]
    names: dict[str, str]


def name_firms(study: Study, wanted: list[tuple[str, pd.Timestamp]]) -> Firms:
    """Identifiers of (ticker or identifier, event date) pairs: through the names file when
    there is one (the identifier the ticker named that day), else the names are identifiers."""
    book = read_names(study.data.names, study.data.date_format) if study.data.names else None
    ids, unknown, names = {}, {}, {}
    for label, date in wanted:
        if book is None:
            ids[label], names[label] = label, ""
            continue
        found = _lookup(book, label, date)
        if found is None:
            unknown[label] = _no_identifier(book, label, date)
            continue
        ids[label], names[label] = found, book.company(found, date)[1]
    return Firms(ids, unknown, names)


REUSED = "#"  # a reused ticker's label: ticker#identifier


def sample_labels(study: Study, events: pd.DataFrame) -> tuple[pd.DataFrame, Firms]:
    """A sample's events with each ticker made a firm label: the ticker when it names one
    identifier on all its events' dates, else ``ticker#identifier`` (a reused ticker). Labels
    made before are kept (the placebo relabels the labelled events)."""
    pairs = list(zip(events.ticker, events.event_date, strict=True))
    book = read_names(study.data.names, study.data.date_format) if study.data.names else None
    if book is None:
        return events, name_firms(study, list(dict.fromkeys(pairs)))
    found = [(t, _lookup(book, t, d)) for t, d in pairs]
    per_ticker: dict[str, set] = {}
    for t, i in found:
        per_ticker.setdefault(t, set()).update({i} - {None})
    labels = [_label(t, i, per_ticker[t]) for t, i in found]
    ids = {lab: i for lab, (_, i) in zip(labels, found, strict=True) if i is not None}
    unknown = {
        lab: _no_identifier(book, t, d) for lab, (t, i), (_, d) in zip(labels, found, pairs, strict=True) if i is None
    }
    names = {lab: book.company(i, d)[1] for lab, (_, i), (_, d) in zip(labels, found, pairs, strict=True) if i}
    return events.assign(ticker=labels), Firms(ids, unknown, names)


def _shipped_factors_note(study: Study, factors: dict[str, pd.DataFrame]) -> list[str]:
    """A note when a study counted on another calendar than the NYSE's takes factors from the
    shipped (US) Fama–French files: its model or its calendar-time regression needs them."""
    needed = set(get_model(study.model).needs)
    if study.long is not None:
        needed |= set(CALENDAR_MODELS.get(study.long.calendar_time, ()))
    shipped = set().union(*(table.columns for table in factors.values()))
    if study.exchange == EXCHANGE or not needed & shipped:
        return []
    return [
        f"the factors are the shipped US Fama–French factors, on NYSE dates, while sessions are counted as "
        f"{sessions_of(study.exchange)}: name your market's factors in [data] factors"
    ]


def _no_identifier(book: NameBook, label: str, date: pd.Timestamp) -> str:
    return f"no identifier in {book.path.name} for the ticker {label.split(REUSED)[0]} on {date:%Y-%m-%d}"


def _label(ticker: str, found: str | None, ids: set) -> str:
    """An event's firm label: its ticker when the ticker names one identifier on all its events'
    dates (or none), else ``ticker#identifier``; ``ticker#?`` for an event on a date the ticker
    names no identifier, while its other events have one (they are measured, it is not)."""
    if REUSED in ticker or (found is None and not ids) or (found is not None and len(ids) == 1):
        return ticker
    return f"{ticker}{REUSED}{'?' if found is None else found}"


def _lookup(book: NameBook, ticker: str, date: pd.Timestamp) -> str | None:
    if REUSED in ticker:
        found = ticker.split(REUSED)[-1]
        return None if found == "?" else found
    found = book.lookup(ticker.upper(), date)
    return ticker if found is None and ticker.isdigit() else found


def read_study_files(
    study: Study, firms: Firms, start: pd.Timestamp, end: pd.Timestamp, all_stocks: bool = False
) -> tuple[FileData, MarketData, pd.DataFrame]:
    """The study's files over ``start..end``: the file data, the firms' returns (by label, and the
    market file's series the study names), and :class:`MarketData` in the form the stages read
    (price frames by label, the failures, the factor tables: the files' or the snapshot's)."""
    spec = study.data
    files = load_files(spec, list(firms.ids.values()), start, end, study.exchange, every=all_stocks)
    label_of = {i: lab for lab, i in firms.ids.items()}
    failed = {**firms.unknown, **{label_of.get(i, i): why for i, why in files.missing.items()}}
    returns = files.returns.rename(columns=lambda i: label_of.get(i, i))
    returns = returns.drop(columns=[c for c in failed if c in returns])  # excluded with their reasons, not all-NaN
    frames = {label_of.get(i, i): f for i, f in files.frames.items()}
    frames = {k: v for k, v in frames.items() if k not in failed}
    origin = dict.fromkeys(frames, f"file {spec.returns.name}")
    series = study.series
    for name in series:
        if name.lower() in files.market:
            returns[name] = files.market[name.lower()]
            origin[name] = f"file {spec.market.name}"
    factors = files.factors or default_snapshot().factors()
    notes = (*files.notes, *([] if files.factors else _shipped_factors_note(study, factors)))
    stocks = list(returns.columns.difference(list(series), sort=False))
    companies = pd.DataFrame(
        {"ticker": stocks, "name": [firms.names.get(t, "") for t in stocks], "asset_type": "stock", "issuer": stocks}
    )
    prices = PriceData(frames, origin, failed, notes)
    empty = pd.DataFrame(columns=["ticker", "share_class", "price_ticker", "shares", "as_of", "source"])
    data = MarketData(prices, companies, empty, empty, factors, files.files)
    return files, data, returns


def check_market(study: Study, files: FileData, returns: pd.DataFrame, firms: list[str]) -> None:
    """Every listed benchmark is a series of the market file with a value on every session
    where a firm has a return (the estimation window and the event day need the market)."""
    traded = returns[firms].notna().any(axis=1) if firms else returns.notna().any(axis=1)
    need = returns.index[traded.to_numpy()]
    for b in {study.benchmarks[n].ticker for n in (study.benchmark, *study.sensitivity)} - {""}:
        if study.data.market is None:
            raise DataFileError(study.data.returns, f"the benchmark {b!r} needs a market file: set [data] market")
        check_series(study.data.market, files.market, b.lower(), need, study.data.units)


def market_values(files: FileData, firms: Firms, labels: list[str], day: pd.Timestamp) -> tuple:
    """Sessions × labels of market values (in [data] currency: |price| × shares × the layout's scale) and each
    firm's share basis (``firm, shares, flag, classes, price_basis``) as of ``day``."""
    label_of = {i: lab for lab, i in firms.ids.items()}
    mv = files.market_values.rename(columns=lambda i: label_of.get(i, i)).reindex(columns=labels)
    have = files.layout.has("price") and files.layout.has("shares")
    rows = []
    for t in labels:
        price = files.frames.get(firms.ids.get(t, t))
        close = price.close.get(day, np.nan) if price is not None else np.nan
        value = mv[t].get(day, np.nan) if t in mv else np.nan
        rows.append(
            {
                "firm": t,
                "shares": value / close if close and not np.isnan(value) else np.nan,
                "flag": FILE_FLAG if have and not np.isnan(value) else "no share count",
                "classes": f"{firms.ids.get(t, t)}@{files.layout.columns.get('price', '')}",
                "price_basis": "|price| of the file" if have else "no price or shares column",
            }
        )
    return mv, pd.DataFrame(rows)


def pre_event_values(events: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Each event's market value at the close of the session before its day 0 from a study's
    own files: ``event_id, market_value, shares_flag`` (the columns of
    :func:`eventstudy.study.marketvalue.pre_event_values`)."""
    days = values.index
    rows = []
    for ev in events[["event_id", "ticker", "event_date"]].itertuples(index=False):
        pos = days.searchsorted(ev.event_date) - 1
        value = values[ev.ticker].iloc[pos] if pos >= 0 and ev.ticker in values else np.nan
        rows.append((ev.event_id, float(value), FILE_FLAG if np.isfinite(value) else "no share count"))
    return pd.DataFrame(rows, columns=["event_id", "market_value", "shares_flag"])


def no_trading_only(flags: pd.DataFrame) -> pd.DataFrame:
    """A file's prices are as traded (CRSP's PRC is not split-adjusted): a split there is real,
    so only the no-trading flags apply."""
    return flags[flags.kind.isin(["no_trading", "non_trading_days"])].reset_index(drop=True)


def basis_of(files: FileData, data: MarketData, firms: Firms) -> pd.Series:
    """Each series' return basis: the returns file's column (with the delisting return where
    one was compounded in), or the market file's."""
    ret, market = files.layout.columns.get("ret"), set(files.market.columns)
    out = {}
    for t in data.prices.origin:
        if t.lower() in market and t not in firms.ids:
            out[t] = f"{t.lower()} of the market file"
        else:
            delisted = firms.ids.get(t, t) in files.delisted
            column = ret or f"column {firms.ids.get(t, t)}"  # a wide file: the security's own column
            out[t] = f"{column} of the returns file" + (" + delisting return" if delisted else "")
    return pd.Series(out, name="return_basis", dtype="object")


def provenance(data: MarketData, basis: pd.Series) -> pd.DataFrame:
    """One row per series (its file's facts beside it), then one per other file."""
    files = data.files.set_index("file")
    rows = []
    for t, origin in data.prices.origin.items():
        name = origin.removeprefix("file ")
        facts = files.loc[name]
        rows.append((t, origin, basis.get(t, ""), name, facts.role, facts.bytes, facts.rows, facts.sha256))
    used = {o.removeprefix("file ") for o in data.prices.origin.values()}
    for r in data.files.itertuples():
        if r.file not in used:
            rows.append(("", f"{r.role} file", "", r.file, r.role, r.bytes, r.rows, r.sha256))
    return pd.DataFrame(rows, columns=PROVENANCE)


# results/provenance.csv of a study on its own files: a row per series, then one per other file
PROVENANCE = ["ticker", "origin", "return_basis", "file", "role", "bytes", "rows", "sha256"]
