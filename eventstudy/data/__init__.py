"""All I/O: the yfinance source, the on-disk cache, and the committed snapshot.

Nothing outside this package (and ``report.py``, ``study.py``) touches the disk or the network.
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
