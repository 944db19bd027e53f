"""What a study is: the frozen, validated objects a study file becomes (the study, its groups,
claims, benchmarks, events table and report settings). Reading them from a file is studyfile.py;
checking them, checks.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.calendar import EXCHANGE
from ..core.models import get_model
from ..core.windows import Window
from ..data.files import DataSpec
from ..data.quality import QualitySpec
from .horizons import LongSpec
from .volume import VolumeSpec


@dataclass(frozen=True)
class GroupSpec:
    """Tickers, the union of other groups, or a table's tickers — optionally kept ``within``
    another group."""

    name: str
    tickers: tuple[str, ...] = ()
    union: tuple[str, ...] = ()
    from_table: str = ""
    within: str = ""


@dataclass(frozen=True)
class ClaimSpec:
    """One checkable claim: what the article says, the metric computed, the wording rule, and
    the window it is judged on (``""`` = day 0)."""

    id: str
    article: str
    says: str
    metric: str
    rule: str
    title: str = ""
    figure: float | None = None
    unit: str = ""
    ticker: str = ""
    universes: tuple[str, ...] = ()
    window: str = ""
    direction: str = "fall"


@dataclass(frozen=True)
class BenchmarkSpec:
    """A market series: a ticker (``SPY``, ``^GSPC``) or an index constructed from the data's
    stocks (``weights`` = value|equal), minus the stocks of the ``exclude`` groups."""

    name: str
    ticker: str = ""
    weights: str = ""
    exclude: tuple[str, ...] = ()

    @property
    def constructed(self) -> bool:
        return not self.ticker


@dataclass(frozen=True)
class ReportSpec:
    """What the report shows beyond the numbers: the focus firm of the price and fit figures,
    lines to mark, bar colours by group, and the study's own notes (printed under
    Limitations)."""

    focus: str = ""
    drop_mark_pct: float | None = None
    marks_bn: tuple[float, ...] = ()
    colour_groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventsSpec:
    """``[events]`` of a study file: a table of firm-events on their own dates (``file``,
    resolved against the study file's folder); ``group_by`` columns whose values make groups,
    ``characteristics`` columns that explain the CARs in the second stage, or characteristics
    that eventstudy computes (:data:`DERIVED_CHARACTERISTICS`); ``columns``: the file's own
    names of the columns eventstudy reads (``[events.columns]``: ``ticker = "permno"``)."""

    file: Path
    group_by: tuple[str, ...] = ()
    characteristics: tuple[str, ...] = ()
    date_format: str = ""  # how the file writes its dates when not YYYY-MM-DD (e.g. "%d/%m/%Y")
    columns: dict[str, str] = field(default_factory=dict)  # role (ticker, date, ...) → the file's column


RETURNS = ("total", "price")

# characteristics computed for every event, which a study may name without a column of that name
DERIVED_CHARACTERISTICS = {
    "log_market_value": "ln of the firm's market value in bn (of the prices' currency) at the close before day 0",
}


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    event_date: pd.Timestamp
    label: str
    model: str
    benchmark: str
    estimation: Window
    windows: tuple[Window, ...]
    path: Window
    min_estimation_obs: int
    groups: dict[str, GroupSpec]
    claims: tuple[ClaimSpec, ...]
    indices: tuple[str, ...]
    benchmarks: dict[str, BenchmarkSpec]
    sensitivity: tuple[str, ...]
    path_file: Path
    description: str = ""
    window_dates: dict[str, str] = field(default_factory=dict)
    report: ReportSpec = field(default_factory=ReportSpec)
    quality: QualitySpec = field(default_factory=QualitySpec)
    overrides: tuple[str, ...] = ()
    events: EventsSpec | None = None
    returns: str = "total"
    exclude_other_events: bool = True
    data: DataSpec | None = None
    volume: VolumeSpec | None = None  # [volume]: abnormal trading volume beside the returns
    volatility: bool = False  # [volatility]: did the event raise the variance of the abnormal returns?
    long: LongSpec | None = None  # [long]: buy-and-hold abnormal returns and calendar-time alphas
    exchange: str = EXCHANGE  # the calendar sessions are counted in ([data] calendar; "data:<file>" for its dates)

    @property
    def is_sample(self) -> bool:
        """Firm-events on their own dates (``[events]``), not one event date."""
        return self.events is not None

    @property
    def reach(self) -> int:
        """The farthest session after day 0 the study reads: its windows and path (one more for
        Dimson's lead: the market one session past the path), its long-horizon windows."""
        far = max(w.end for w in (*self.windows, self.path)) + int(get_model(self.model).thin_trading)
        return max(far, self.long.reach) if self.long is not None else far

    @property
    def series(self) -> list[str]:
        """The market series the study reads beside its firms: its listed benchmarks' tickers and
        the reported indices, each once."""
        named = [b.ticker for b in self.benchmarks.values() if b.ticker]
        return list(dict.fromkeys([*named, *self.indices]))

    @property
    def own_data(self) -> bool:
        """The study reads its own files (``[data]``), not the snapshot, the cache or yfinance."""
        return self.data is not None

    @property
    def currency(self) -> str:
        """The ISO 4217 code of the study's prices and market values: ``[data] currency``, else
        USD (the snapshot's and Yahoo's US listings)."""
        return self.data.currency if self.data is not None else "USD"

    @property
    def folder(self) -> Path:
        return self.path_file.parent


GROUP_TABLES = ("market_values_2026",)

MAX_SESSIONS = 2520  # ten years of sessions: the farthest any window may reach from day 0

TICKER = re.compile(r"\^?[A-Z0-9][A-Z0-9.=-]{0,14}")
# a security of a study's own files, as its returns file names it (an ISIN, a PERMNO, "700 HK",
# "vod.l"): no index mark, no spaces around it, nothing that breaks a table or a reused ticker
IDENTIFIER = re.compile(r"[^\s|#^](?:[^|#\n\r\t]{0,38}[^\s|#])?")
