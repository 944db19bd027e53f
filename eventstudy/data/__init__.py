"""All I/O of market data: the yfinance source, the on-disk cache and its file format (store),
the committed snapshot, the loader that picks among them, parquet panels of returns for the
Dask engine, and the price checks (quality flags) every source's data goes through.

May import: ``eventstudy.core`` (the calendar, returns), ``eventstudy.errors``. Never
``eventstudy.study``, ``eventstudy.report`` or ``eventstudy.cli``. Outside this package only the
study's file reading, the workspace and the report's output writer touch the disk.
"""

from .cache import PriceCache, default_cache_dir
from .loader import MarketData, load_market_data, load_prices
from .snapshot import Snapshot, default_snapshot
from .sources import PriceSource, YFinanceSource

__all__ = [
    "MarketData",
    "PriceCache",
    "PriceSource",
    "Snapshot",
    "YFinanceSource",
    "default_cache_dir",
    "default_snapshot",
    "load_market_data",
    "load_prices",
]
