"""What the tests share: synthetic panels whose answers are known by construction, a small
study file, a fake price source at the yfinance boundary, and where the repository is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.core import calendar
from eventstudy.core.engine import firm_events
from eventstudy.data.sources import parse_yfinance_frame
from eventstudy.errors import PricesMissingError

REPO = Path(__file__).resolve().parent.parent


def synthetic_panel(
    n_firms: int = 30,
    n_days: int = 300,
    *,
    event_pos: int = 270,
    injected: float = 0.0,
    rho: float = 0.0,
    seed: int = 0,
    sigma: float = 0.02,
):
    """Market-model returns R = α + β R_m + ε (ε equicorrelated with ``rho`` across firms),
    ``injected`` added to every firm on the event day. Returns (returns, regressors, events)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n_days, name="date")
    mkt = rng.normal(0.0004, 0.01, n_days)
    common = rng.normal(0, 1, (n_days, 1))
    idio = rng.normal(0, 1, (n_days, n_firms))
    eps = sigma * (np.sqrt(rho) * common + np.sqrt(1 - rho) * idio)
    alpha, beta = rng.normal(0, 0.0005, n_firms), rng.uniform(0.5, 1.5, n_firms)
    r = alpha + mkt[:, None] * beta + eps
    r[event_pos] += injected
    tickers = [f"F{i:03d}" for i in range(n_firms)]
    returns = pd.DataFrame(r, index=dates, columns=tickers)
    regressors = pd.DataFrame({"mkt": mkt}, index=dates)
    return returns, regressors, firm_events(tickers, dates[event_pos])


def study_file(
    tmp_path,
    *,
    event="2025-01-27",
    model="market",
    estimation="[-250, -11]",
    min_obs=120,
    tickers='["NVDA", "MSFT"]',
    extra="",
):
    path = tmp_path / "s" / "study.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"""
[study]
title = "Test study"
event_date = {event}
[model]
name = "{model}"
benchmark = "SPY"
estimation = {estimation}
windows = [[0, 0], [-1, 1]]
path = [-3, 3]
min_estimation_obs = {min_obs}
[groups]
g = {tickers}
{extra}
""")
    return path


def yf_frame(dates, close=100.0, ticker=None):
    """A frame shaped like ``yf.download(auto_adjust=False, actions=True)``."""
    idx = pd.DatetimeIndex(dates, name="Date")
    cols = ["Adj Close", "Close", "Dividends", "High", "Low", "Open", "Stock Splits", "Volume"]
    data = np.tile([close, close, 0.0, close + 1, close - 1, close, 0.0, 1e6], (len(idx), 1))
    frame = pd.DataFrame(data, index=idx, columns=cols)
    if ticker:
        frame.columns = pd.MultiIndex.from_product([cols, [ticker]], names=["Price", "Ticker"])
    return frame


class FakeSource:
    """Records each requested range; serves a flat price on the NYSE sessions."""

    name = "fake"

    def __init__(self):
        self.calls = []

    def fetch(self, ticker, start, end):
        self.calls.append((ticker, start, end))
        frame = parse_yfinance_frame(yf_frame(calendar.sessions(start, end)), ticker)
        if frame.empty:
            raise PricesMissingError([ticker], start, end)
        return frame


def altered_snapshot(folder: Path, ticker: str) -> Path:
    """A copy of the shipped snapshot in ``folder`` with one close of ``ticker`` changed by a cent
    in its prices file (written whole again; its MANIFEST left as it was), as a damaged install
    or a hand edit would leave it."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from eventstudy.data.snapshot import PRICES, SNAPSHOT_DIR

    root = folder / "snap"
    shutil.copytree(SNAPSHOT_DIR, root)
    table = pq.read_table(root / PRICES)
    frame = table.to_pandas()
    rows = np.flatnonzero((frame.ticker == ticker) & frame.close.notna())
    frame.loc[rows[len(rows) // 2], "close"] += 0.01
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), root / PRICES)
    return root
