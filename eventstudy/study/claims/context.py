"""What a claim is checked against and what checking gives: the run's facts (ClaimContext), one
universe's evidence (Part), a measurement, a verdict (ClaimCheck), NotCheckable, and the wording
of figures."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ...core import windows as _windows

VERDICTS = (
    "supported",
    "roughly right",
    "overstated",
    "understated",
    "contradicted",
    "not checkable with daily data",
    "not checkable",
)

DIRECTIONS = ("fall", "rise")

DAY0 = _windows.DAY0.label


class NotCheckable(Exception):
    """The evidence a claim needs is missing; ``str(exc)`` says which and why."""


@dataclass(frozen=True)
class ClaimContext:
    """What claims are checked against.

    - ``day0``: per firm (every member with prices, fitted or not) and per reported index
      series: ``ret, low_ret, high_ret, open_gap, close_vs_low, close_vs_high, ar, mv_change,
      mv_change_at_low, mv_change_at_high`` (``ar`` and the market values missing where there
      are none);
    - ``windows``: ``firm, window, ret, car, mv_raw`` for the same firms and series, every
      window of the run and day 0 (``[0,0]``);
    - ``members``: universe → every firm the study names in it (one listing per issuer, ETFs
      never), measured or not;
    - ``path``: firm × day raw returns after day 0;
    - ``excluded``: ticker → why it has no data in this run (it is not measured at all);
    - ``spans``: window label → (the session before it, its last session);
    - ``trading``: ticker → (first, last) date of its prices, to tell a firm that was not yet
      (or no longer) listed from a missing value.
    """

    day0: pd.DataFrame
    windows: pd.DataFrame
    members: Mapping[str, tuple[str, ...]]
    path: pd.DataFrame
    excluded: Mapping[str, str]
    spans: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)
    trading: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """One universe's evidence for a claim: the measured members' moves in the claimed
    direction (``moves``; % or USD bn), the members without a value (``missing``: member →
    why) and those not listed over the window (``absent``: they take no part), and the
    universe's figure (``value``: the median move, or the total when ``total``)."""

    universe: str
    moves: Mapping[str, float]
    missing: Mapping[str, str]
    absent: Mapping[str, str]
    value: float
    total: bool = False

    @property
    def size(self) -> int:
        """The members the claim speaks of: measured or missing (not the absent ones)."""
        return len(self.moves) + len(self.missing)

    def bounds(self) -> tuple[float, float]:
        """The universe's figure whatever the missing members did: a total is then unknown
        (±∞), a median lies between the medians with every missing member moved as far as
        possible either way."""
        if not self.missing:
            return self.value, self.value
        if self.total:
            return -math.inf, math.inf
        known = list(self.moves.values())
        k = len(self.missing)
        return (
            float(pd.Series(known + [-math.inf] * k).median()),
            float(pd.Series(known + [math.inf] * k).median()),
        )

    def coverage(self) -> str:
        """ "k of n measured" and who was not, with why; "" when every member was."""
        parts = []
        if self.missing:
            why = "; ".join(f"{t}: {w}" for t, w in sorted(self.missing.items()))
            parts.append(f"{len(self.moves)} of {self.size} members of {self.universe} measured (not: {why})")
        if self.absent:
            parts.append(f"not listed over the window: {', '.join(sorted(self.absent))}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Measurement:
    value: float
    text: str
    per: Mapping[str, float] | None = None
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True)
class ClaimCheck:
    id: str
    article: str
    says: str
    window: str
    computed: str
    verdict: str
    reason: str


def pct_text(x: float) -> str:
    return f"{x:.1f} %"


def figure_text(x: float, unit: str) -> str:
    """An article's figure as the article gives it: 17 %, $600 bn."""
    return f"{x:g} %" if unit == "%" else f"${x:,g} bn"


def sign_of(spec) -> int:
    return 1 if spec.direction == "rise" else -1


def window_label(spec) -> str:
    """The label of the claim's window: day 0's when it names none."""
    return spec.window or DAY0


def window_span(spec) -> str:
    return "day 0" if window_label(spec) == DAY0 else spec.window


def finite(value: float, what: str) -> float:
    if value is None or not math.isfinite(value):
        raise NotCheckable(f"{what} is missing")
    return float(value)


def firm_facts(spec, ctx: ClaimContext) -> pd.Series:
    """The day-0 facts of the claim's firm (or index series)."""
    t = spec.ticker
    if t in ctx.day0.index:
        return ctx.day0.loc[t]
    if t in ctx.excluded:
        raise NotCheckable(f"{t} was excluded: {ctx.excluded[t]}")
    raise NotCheckable(f"{t} is not a firm or series of this study")


def window_row(spec, ctx: ClaimContext) -> tuple[pd.Series, pd.Series]:
    """The firm's day-0 facts and its row for the claim's window."""
    d = firm_facts(spec, ctx)
    w = ctx.windows[(ctx.windows.window == window_label(spec)) & (ctx.windows.firm == spec.ticker)]
    return d, w.iloc[0]
