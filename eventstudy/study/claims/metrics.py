"""The metrics a claim is measured by, each a positive magnitude in the claimed direction: a firm's
intraday extreme, close-to-close move, opening gap, rebound and market-value change, and a
universe's summed market-value change and returns (its members measured, absent or missing, and
why)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ...core.tables import money_bn
from .context import (
    DAY0,
    ClaimContext,
    Measurement,
    NotCheckable,
    Part,
    finite,
    firm_facts,
    pct_text,
    sign_of,
    window_label,
    window_row,
    window_span,
)


def intraday_extreme(spec, ctx: ClaimContext) -> Measurement:
    """Day 0's intraday low (a fall) or high (a rise) against the previous close."""
    d = firm_facts(spec, ctx)
    rise = spec.direction == "rise"
    move = finite(d.high_ret if rise else d.low_ret, f"{spec.ticker}'s intraday {'high' if rise else 'low'}")
    ret = finite(d.ret, f"{spec.ticker}'s day-0 return")
    where = "above" if move >= 0 else "below"
    return Measurement(
        100 * sign_of(spec) * move,
        f"{spec.ticker} {'high' if rise else 'low'} {pct_text(abs(100 * move))} {where} the previous close "
        f"(close to close: {100 * ret:+.1f} %)",
    )


def close_move(spec, ctx: ClaimContext) -> Measurement:
    """The firm's total return, close to close, over the claim's window (day 0 by default)."""
    _, w = window_row(spec, ctx)
    ret = finite(w.ret, f"{spec.ticker}'s return over {window_span(spec)}")
    car = "–" if not math.isfinite(w.car) else f"{100 * w.car:+.1f} %"
    return Measurement(
        100 * sign_of(spec) * ret, f"{spec.ticker} over {window_span(spec)}: {100 * ret:+.1f} % (abnormal {car})"
    )


def opening_gap(spec, ctx: ClaimContext) -> Measurement:
    d = firm_facts(spec, ctx)
    gap = finite(d.open_gap, f"{spec.ticker}'s day-0 open")
    where = "above" if gap >= 0 else "below"
    return Measurement(
        100 * sign_of(spec) * gap, f"{spec.ticker} opened {pct_text(abs(100 * gap))} {where} the previous close"
    )


def rebound(spec, ctx: ClaimContext) -> Measurement:
    """After a fall: how far the close rose above the day's low (``value``), and whether it
    stayed below the previous close. After a rise: how far it gave back from the high, and
    whether it stayed above the previous close."""
    d = firm_facts(spec, ctx)
    ret = finite(d.ret, f"{spec.ticker}'s day-0 return")
    after = ctx.path.loc[spec.ticker] if spec.ticker in ctx.path.index else pd.Series(dtype=float)
    nxt = ", ".join(f"day {k:+d} {100 * v:+.1f} %" for k, v in after.head(3).dropna().items()) or "none"
    if spec.direction == "rise":
        back = -finite(d.close_vs_high, f"{spec.ticker}'s intraday high")
        text = (
            f"{spec.ticker} closed {pct_text(100 * back)} below its high and {100 * ret:+.1f} % from the previous close"
        )
        value = 100 * back
    else:
        value = 100 * finite(d.close_vs_low, f"{spec.ticker}'s intraday low")
        text = f"{spec.ticker} closed {pct_text(value)} above its low and {100 * ret:+.1f} % from the previous close"
    return Measurement(value, f"{text}; next sessions: {nxt}", per={"ret": ret})


def mv_change(spec, ctx: ClaimContext) -> Measurement:
    """The firm's market-value change over the claim's window (day 0 by default), USD bn."""
    d, w = window_row(spec, ctx)
    change = finite(w.mv_raw, f"{spec.ticker}'s market value (no share count)") / 1e9
    text = f"{spec.ticker} {'gained' if change >= 0 else 'lost'} {money_bn(abs(change))} over {window_span(spec)}"
    low, high = (d.get(k, math.nan) / 1e9 for k in ("mv_change_at_low", "mv_change_at_high"))
    if window_label(spec) == DAY0 and math.isfinite(low) and math.isfinite(high):
        low_text, high_text = money_bn(low, signed=True), money_bn(high, signed=True)
        text += f" close to close ({low_text} at the intraday low, {high_text} at the high)"
    return Measurement(sign_of(spec) * change, text)


def _status(member: str, label: str, ctx: ClaimContext) -> tuple[str, str]:
    """Why a universe's member has no value over the window ``label``: ``("absent", why)``
    when it was not listed before the window (it takes no part), else ``("missing", why)``."""
    first, last = ctx.trading.get(member, (None, None))
    before, end = ctx.spans.get(label, (None, None))
    if first is not None and before is not None and first > before:
        return "absent", f"its prices start on {first:%Y-%m-%d}"
    if member not in ctx.day0.index and member in ctx.excluded:
        return "missing", ctx.excluded[member]
    if first is None:
        return "missing", "no prices"
    if end is not None and last < end:
        return "missing", f"its prices end on {last:%Y-%m-%d}"
    return "missing", "no value over the window (a missing price, or no share count)"


def _part(spec, ctx: ClaimContext, universe: str, column: str, scale: float, total: bool) -> Part:
    """One universe's members over the claim's window: their ``column`` (× ``scale``, signed in
    the claimed direction) where there is one, why not where there is none."""
    label = window_label(spec)
    values = ctx.windows[ctx.windows.window == label].set_index("firm")[column]
    moves, missing, absent = {}, {}, {}
    for m in ctx.members.get(universe, ()):
        v = values.get(m, math.nan)
        if v is not None and math.isfinite(v):
            moves[m] = sign_of(spec) * scale * float(v)
            continue
        kind, why = _status(m, label, ctx)
        (absent if kind == "absent" else missing)[m] = why
    known = pd.Series(moves, dtype=float)
    value = (known.sum() if total else known.median()) if len(known) else math.nan
    return Part(universe, moves, missing, absent, float(value), total)


def total_mv_change(spec, ctx: ClaimContext) -> Measurement:
    """Each universe's summed market-value change over the window (USD bn): a member without a
    value leaves the total unknown (the claim's verdict for that universe is then not
    checkable); a member not listed before the window lost nothing and is named."""
    parts = tuple(_part(spec, ctx, u, "mv_raw", 1e-9, True) for u in spec.universes)
    if not any(p.moves for p in parts):
        raise NotCheckable(f"no firm of {', '.join(spec.universes)} has a market value over {window_span(spec)}")
    texts = []
    for p in parts:
        later = f"; not listed at the window's start: {', '.join(sorted(p.absent))}" if p.absent else ""
        moved = money_bn(sign_of(spec) * p.value, signed=True)
        text = f"{p.universe} ({len(p.moves)} of {p.size} firms valued{later}) {moved}"
        texts.append(text if p.moves else f"{p.universe}: no firm valued")
    return Measurement(math.nan, "; ".join(texts), parts=parts)


def _span_returns(ctx: ClaimContext, firms: list[str], label: str) -> tuple[pd.Series, pd.Series]:
    w = ctx.windows[ctx.windows.window == label].set_index("firm").reindex(firms)
    return w.ret, w.car


def universe_returns(spec, ctx: ClaimContext, list_up_to: int = 6) -> Measurement:
    """Raw returns of each universe over the claim's window: the share that moved in the
    claimed direction and the median, with abnormal returns beside; a small universe (up to
    ``list_up_to`` names) is listed name by name on day 0 and over the window."""
    parts = tuple(_part(spec, ctx, u, "ret", 100.0, False) for u in spec.universes)
    if not any(p.moves for p in parts):
        raise NotCheckable(f"no firm of {', '.join(spec.universes)} has a return over {window_span(spec)}")
    return Measurement(math.nan, "; ".join(_universe_text(spec, ctx, p, list_up_to) for p in parts), parts=parts)


def _universe_text(spec, ctx: ClaimContext, p: Part, list_up_to: int) -> str:
    if not p.moves:
        return f"{p.universe}: no firm has a return over {window_span(spec)}"
    firms = list(p.moves)
    ret, ar = _span_returns(ctx, firms, window_label(spec))
    verb = "rose" if spec.direction == "rise" else "fell"
    moved = sum(v > 0 for v in p.moves.values())
    tilted = (ar > 0) if spec.direction == "rise" else (ar < 0)
    sign = "positive" if spec.direction == "rise" else "negative"
    text = (
        f"{p.universe} over {window_span(spec)}: {moved} of {len(firms)} {verb}, median {100 * ret.median():+.1f} %; "
        f"abnormal: {int(tilted.sum())} of {int(ar.notna().sum())} {sign}"
    )
    if len(firms) <= list_up_to:
        spans = dict.fromkeys([DAY0, window_label(spec)])
        shown = []
        for f in firms:
            cells = []
            for sp in spans:
                r, a = (x.iloc[0] for x in _span_returns(ctx, [f], sp))
                ab = "–" if not math.isfinite(a) else f"{100 * a:+.1f} %"
                rr = "–" if not math.isfinite(r) else f"{100 * r:+.1f} %"
                cells.append(f"{'day 0' if sp == DAY0 else sp} {rr} (abnormal {ab})")
            shown.append(f"{f} " + ", ".join(cells))
        text += " — " + "; ".join(shown)
    cover = p.coverage()
    return text + (f"; {cover}" if cover else "")


@dataclass(frozen=True)
class Metric:
    """A metric: what it measures (``subject`` a ticker or a list of universes), its unit,
    and whether it can span a window (else day 0 only)."""

    func: Callable[..., Measurement]
    subject: str
    unit: str
    windowed: bool


METRICS: dict[str, Metric] = {
    "intraday_extreme": Metric(intraday_extreme, "ticker", "%", False),
    "close_move": Metric(close_move, "ticker", "%", True),
    "opening_gap": Metric(opening_gap, "ticker", "%", False),
    "rebound": Metric(rebound, "ticker", "%", False),
    "mv_change": Metric(mv_change, "ticker", "USD bn", True),
    "total_mv_change": Metric(total_mv_change, "universe", "USD bn", True),
    "universe_returns": Metric(universe_returns, "universe", "%", True),
}

# earlier names, still read: each implies a fall
FALL_ALIASES = {"intraday_low_loss": "intraday_extreme", "mv_loss": "mv_change", "total_mv_loss": "total_mv_change"}
