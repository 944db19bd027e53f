"""Claims checked against the numbers: a metric computes a value, a wording rule gives the verdict.

A claim says that something *fell* or *rose* (``direction``); its metric measures the move as a
positive magnitude in that direction (a rise against a claimed fall is negative, and the
verdict is then ``contradicted``). Metrics read a :class:`ClaimContext`; when the evidence is
not there — a firm that was excluded, a value that is missing, a universe with no firm, a
window the run does not have — the claim is ``not checkable`` with the reason, never judged.
No verdict is written anywhere: each is computed here from its number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
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


def _pct(x: float) -> str:
    return f"{x:.1f} %"


def _bn(x: float) -> str:
    return f"${x:,.0f} bn"


def _signed_bn(x: float) -> str:
    return f"{'−' if x < 0 else '+'}${abs(x):,.0f} bn"


def _figure(x: float, unit: str) -> str:
    """An article's figure as the article gives it: 17 %, $600 bn."""
    return f"{x:g} %" if unit == "%" else f"${x:,g} bn"


def _sign(spec) -> int:
    return 1 if spec.direction == "rise" else -1


def _label(spec) -> str:
    """The label of the claim's window: day 0's when it names none."""
    return spec.window or DAY0


def _span(spec) -> str:
    return "day 0" if _label(spec) == DAY0 else spec.window


def _finite(value: float, what: str) -> float:
    if value is None or not math.isfinite(value):
        raise NotCheckable(f"{what} is missing")
    return float(value)


def _firm(spec, ctx: ClaimContext) -> pd.Series:
    """The day-0 facts of the claim's firm (or index series)."""
    t = spec.ticker
    if t in ctx.day0.index:
        return ctx.day0.loc[t]
    if t in ctx.excluded:
        raise NotCheckable(f"{t} was excluded: {ctx.excluded[t]}")
    raise NotCheckable(f"{t} is not a firm or series of this study")


def _window_row(spec, ctx: ClaimContext) -> tuple[pd.Series, pd.Series]:
    """The firm's day-0 facts and its row for the claim's window."""
    d = _firm(spec, ctx)
    w = ctx.windows[(ctx.windows.window == _label(spec)) & (ctx.windows.firm == spec.ticker)]
    return d, w.iloc[0]


# --- metrics ---------------------------------------------------------------------------------


def intraday_extreme(spec, ctx: ClaimContext) -> Measurement:
    """Day 0's intraday low (a fall) or high (a rise) against the previous close."""
    d = _firm(spec, ctx)
    rise = spec.direction == "rise"
    move = _finite(d.high_ret if rise else d.low_ret, f"{spec.ticker}'s intraday {'high' if rise else 'low'}")
    ret = _finite(d.ret, f"{spec.ticker}'s day-0 return")
    where = "above" if move >= 0 else "below"
    return Measurement(
        100 * _sign(spec) * move,
        f"{spec.ticker} {'high' if rise else 'low'} {_pct(abs(100 * move))} {where} the previous close "
        f"(close to close: {100 * ret:+.1f} %)",
    )


def close_move(spec, ctx: ClaimContext) -> Measurement:
    """The firm's total return, close to close, over the claim's window (day 0 by default)."""
    _, w = _window_row(spec, ctx)
    ret = _finite(w.ret, f"{spec.ticker}'s return over {_span(spec)}")
    car = "–" if not math.isfinite(w.car) else f"{100 * w.car:+.1f} %"
    return Measurement(
        100 * _sign(spec) * ret, f"{spec.ticker} over {_span(spec)}: {100 * ret:+.1f} % (abnormal {car})"
    )


def opening_gap(spec, ctx: ClaimContext) -> Measurement:
    d = _firm(spec, ctx)
    gap = _finite(d.open_gap, f"{spec.ticker}'s day-0 open")
    where = "above" if gap >= 0 else "below"
    return Measurement(
        100 * _sign(spec) * gap, f"{spec.ticker} opened {_pct(abs(100 * gap))} {where} the previous close"
    )


def rebound(spec, ctx: ClaimContext) -> Measurement:
    """After a fall: how far the close rose above the day's low (``value``), and whether it
    stayed below the previous close. After a rise: how far it gave back from the high, and
    whether it stayed above the previous close."""
    d = _firm(spec, ctx)
    ret = _finite(d.ret, f"{spec.ticker}'s day-0 return")
    after = ctx.path.loc[spec.ticker] if spec.ticker in ctx.path.index else pd.Series(dtype=float)
    nxt = ", ".join(f"day {k:+d} {100 * v:+.1f} %" for k, v in after.head(3).dropna().items()) or "none"
    if spec.direction == "rise":
        back = -_finite(d.close_vs_high, f"{spec.ticker}'s intraday high")
        text = f"{spec.ticker} closed {_pct(100 * back)} below its high and {100 * ret:+.1f} % from the previous close"
        value = 100 * back
    else:
        value = 100 * _finite(d.close_vs_low, f"{spec.ticker}'s intraday low")
        text = f"{spec.ticker} closed {_pct(value)} above its low and {100 * ret:+.1f} % from the previous close"
    return Measurement(value, f"{text}; next sessions: {nxt}", per={"ret": ret})


def mv_change(spec, ctx: ClaimContext) -> Measurement:
    """The firm's market-value change over the claim's window (day 0 by default), USD bn."""
    d, w = _window_row(spec, ctx)
    change = _finite(w.mv_raw, f"{spec.ticker}'s market value (no share count)") / 1e9
    text = f"{spec.ticker} {'gained' if change >= 0 else 'lost'} {_bn(abs(change))} over {_span(spec)}"
    low, high = (d.get(k, math.nan) / 1e9 for k in ("mv_change_at_low", "mv_change_at_high"))
    if _label(spec) == DAY0 and math.isfinite(low) and math.isfinite(high):
        text += f" close to close ({_signed_bn(low)} at the intraday low, {_signed_bn(high)} at the high)"
    return Measurement(_sign(spec) * change, text)


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
    label = _label(spec)
    values = ctx.windows[ctx.windows.window == label].set_index("firm")[column]
    moves, missing, absent = {}, {}, {}
    for m in ctx.members.get(universe, ()):
        v = values.get(m, math.nan)
        if v is not None and math.isfinite(v):
            moves[m] = _sign(spec) * scale * float(v)
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
        raise NotCheckable(f"no firm of {', '.join(spec.universes)} has a market value over {_span(spec)}")
    texts = []
    for p in parts:
        later = f"; not listed at the window's start: {', '.join(sorted(p.absent))}" if p.absent else ""
        text = f"{p.universe} ({len(p.moves)} of {p.size} firms valued{later}) {_signed_bn(_sign(spec) * p.value)}"
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
        raise NotCheckable(f"no firm of {', '.join(spec.universes)} has a return over {_span(spec)}")
    return Measurement(math.nan, "; ".join(_universe_text(spec, ctx, p, list_up_to) for p in parts), parts=parts)


def _universe_text(spec, ctx: ClaimContext, p: Part, list_up_to: int) -> str:
    if not p.moves:
        return f"{p.universe}: no firm has a return over {_span(spec)}"
    firms = list(p.moves)
    ret, ar = _span_returns(ctx, firms, _label(spec))
    verb = "rose" if spec.direction == "rise" else "fell"
    moved = sum(v > 0 for v in p.moves.values())
    tilted = (ar > 0) if spec.direction == "rise" else (ar < 0)
    sign = "positive" if spec.direction == "rise" else "negative"
    text = (
        f"{p.universe} over {_span(spec)}: {moved} of {len(firms)} {verb}, median {100 * ret.median():+.1f} %; "
        f"abnormal: {int(tilted.sum())} of {int(ar.notna().sum())} {sign}"
    )
    if len(firms) <= list_up_to:
        spans = dict.fromkeys([DAY0, _label(spec)])
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


# --- rules -----------------------------------------------------------------------------------


def decimals(x: float) -> int:
    """The decimals an article's figure is given with: 17 → 0, 9.5 → 1, 12.16 → 2."""
    text = repr(float(x))
    return 0 if text.endswith(".0") or "e" in text else len(text.split(".")[1])


def rounded_percent(x: float, y: float) -> str:
    """ "up to X %" / "X %": supported if Y rounds to X at the article's precision (|Y − X| <
    0.5 point for a whole figure, 0.05 for one decimal, ...); roughly right to 1.5 points."""
    gap = abs(y - x)
    return (
        "supported"
        if gap < 0.5 * 10 ** -decimals(x)
        else "roughly right"
        if gap <= 1.5
        else "overstated"
        if y < x
        else "understated"
    )


def close_to(x: float, y: float) -> str:
    """ "close to / nearly X": supported in [0.90 X, 1.02 X]; roughly right in [0.80 X, 1.10 X]."""
    if 0.90 * x <= y <= 1.02 * x:
        return "supported"
    if 0.80 * x <= y <= 1.10 * x:
        return "roughly right"
    return "overstated" if y < x else "understated"


def more_than(x: float, y: float) -> str:
    """ "more than X": supported if Y > X; roughly right if Y ≥ 0.90 X; else overstated."""
    return "supported" if y > x else "roughly right" if y >= 0.90 * x else "overstated"


_RANK = {"supported": 0, "roughly right": 1, "understated": 2, "overstated": 3, "contradicted": 4}
# where each scalar rule's verdict can change, for the article's figure x
_BREAKS: dict[Callable, Callable[[float], tuple[float, ...]]] = {
    rounded_percent: lambda x: (x - 1.5, x - 0.5 * 10 ** -decimals(x), x + 0.5 * 10 ** -decimals(x), x + 1.5),
    close_to: lambda x: (0.8 * x, 0.9 * x, 1.02 * x, 1.1 * x),
    more_than: lambda x: (0.9 * x, x),
}
NOT_CHECKABLE = "not checkable"


def _verdicts_between(judge: Callable[[float], str], breaks: tuple[float, ...], lo: float, hi: float) -> set[str]:
    """Every verdict ``judge`` gives to a value in [lo, hi] (its verdicts change only at
    ``breaks`` and at 0)."""
    points = [lo, hi]
    for b in (*breaks, 0.0):
        if lo <= b <= hi:
            eps = 1e-9 * max(1.0, abs(b))
            points += [p for p in (b - eps, b, b + eps) if lo <= p <= hi]
    return {judge(p) for p in points}


def _over_parts(spec, m: Measurement, judge_part, distance) -> tuple[str, str]:
    """Judge each universe (``judge_part(part) -> (verdict, detail)``, the verdict possibly
    not checkable); the claim takes the best-fitting checkable universe's verdict and names
    every universe with it. Not checkable when no universe is."""
    judged = {p.universe: judge_part(p) for p in m.parts}
    ok = {u: v for u, (v, _) in judged.items() if v != NOT_CHECKABLE}
    if not ok:
        raise NotCheckable("; ".join(detail for _, detail in judged.values()))
    if len(judged) == 1:
        return next(iter(judged.values()))
    parts = {p.universe: p for p in m.parts}
    best = min(ok, key=lambda u: (_RANK[ok[u]], distance(parts[u])))
    fits = [u for u, v in ok.items() if v == ok[best]]
    each = ", ".join(f"{u}: {v}" for u, (v, _) in judged.items())
    unchecked = [u for u in judged if u not in ok]
    if unchecked and ok[best] != "supported":  # a universe not checked might fit better
        raise NotCheckable(
            f"the universes that could be checked give at best {ok[best]} ({each}), but "
            + "; ".join(judged[u][1] for u in unchecked)
        )
    return ok[best], f"{ok[best]} for: {', '.join(fits)}; best fit {best}: {judged[best][1]} ({each})"


def _with_coverage(text: str, part: Part) -> str:
    cover = part.coverage()
    return f"{text} ({cover})" if cover else text


def _scalar(rule: Callable[[float, float], str]):
    """A rule on one number; a move against the claimed direction (Y < 0) contradicts it. Over
    universes each is judged — a total with an unvalued member is not checkable, a median is
    judged only when every value the missing members could take gives the same verdict — and
    the claim takes the best-fitting one's verdict."""

    def judge(x: float, y: float) -> str:
        return "contradicted" if y < 0 else rule(x, y)

    def apply(spec, m: Measurement) -> tuple[str, str]:
        unit = METRICS[spec.metric].unit
        places = max(1, decimals(spec.figure) + 1)
        shown = (lambda v: f"{v:.{places}f} %") if unit == "%" else _bn
        article = _figure(spec.figure, unit)

        def said(verdict: str, y: float) -> str:
            if verdict == "contradicted":
                return f"moved the other way: {shown(y)} against the article's {article} {spec.direction}"
            return f"computed {shown(y)} vs the article's {article}"

        def judge_part(p: Part) -> tuple[str, str]:
            if not p.moves:
                return NOT_CHECKABLE, f"no member of {p.universe} has a value over {_span(spec)}"
            if p.total and p.missing:
                return NOT_CHECKABLE, f"{p.coverage()}: a total needs every member"
            lo, hi = p.bounds()
            found = _verdicts_between(lambda y: judge(spec.figure, y), _BREAKS[rule](spec.figure), lo, hi)
            if len(found) > 1:
                return NOT_CHECKABLE, (
                    f"{p.coverage()}: the median could be anywhere from {shown(lo)} to {shown(hi)}, "
                    f"which the rule judges {', '.join(sorted(found))}"
                )
            verdict = found.pop()
            return verdict, _with_coverage(said(verdict, p.value), p)

        if m.parts:
            return _over_parts(spec, m, judge_part, lambda p: abs(p.value - spec.figure))
        verdict = judge(spec.figure, m.value)
        return verdict, said(verdict, m.value)

    return apply


def _count_rule(spec, m: Measurement, verdict_of, describe) -> tuple[str, str]:
    """A rule on how many members moved: ``verdict_of(part, k)`` with k of the missing members
    counted as having moved the claimed way; judged only when every k gives one verdict."""

    def judge_part(p: Part) -> tuple[str, str]:
        if not p.moves:
            return NOT_CHECKABLE, f"no member of {p.universe} has a return over {_span(spec)}"
        found = {verdict_of(p, k) for k in (0, len(p.missing))}
        if len(found) > 1:
            return NOT_CHECKABLE, f"{p.coverage()}: the verdict depends on the members not measured"
        return found.pop(), _with_coverage(describe(p), p)

    return _over_parts(spec, m, judge_part, lambda p: 0.0)


def double_digit(spec, m: Measurement) -> tuple[str, str]:
    """Every member moved ≥ 10 % the claimed way: supported; more than half: roughly right;
    else overstated."""

    def verdict_of(p: Part, k: int) -> str:
        share = (sum(v >= 10 for v in p.moves.values()) + k) / p.size
        return "supported" if share == 1 else "roughly right" if share > 0.5 else "overstated"

    def describe(p: Part) -> str:
        moves = pd.Series(p.moves, dtype=float)
        short = moves[moves < 10].sort_index().sort_values(kind="stable")
        names = ", ".join(f"{t} {_sign(spec) * v:+.1f} %" for t, v in short.items())
        verb = "gained" if spec.direction == "rise" else "lost"
        return f"{int((moves >= 10).sum())} of {len(moves)} {verb} ≥ 10 % over {_span(spec)}; not: {names or 'none'}"

    return _count_rule(spec, m, verdict_of, describe)


def all_moved(spec, m: Measurement) -> tuple[str, str]:
    """Every member moved the claimed way: supported; all but one or two: roughly right;
    several did not: contradicted."""

    def verdict_of(p: Part, k: int) -> str:
        against = sum(v <= 0 for v in p.moves.values()) + len(p.missing) - k
        return "supported" if against == 0 else "roughly right" if against <= 2 else "contradicted"

    def describe(p: Part) -> str:
        moves = pd.Series(p.moves, dtype=float)
        against = moves[moves <= 0]
        names = ", ".join(f"{t} {_sign(spec) * v:+.1f} %" for t, v in against.items())
        verb = "rose" if spec.direction == "rise" else "fell"
        return (
            f"{int((moves > 0).sum())} of {len(moves)} {verb} over {_span(spec)} "
            f"(median {_sign(spec) * p.value:+.1f} %); did not: {names or 'none'}"
        )

    return _count_rule(spec, m, verdict_of, describe)


def partly_recovered(spec, m: Measurement) -> tuple[str, str]:
    """After a fall: rose from the low but stayed below the previous close. After a rise: gave
    back from the high but stayed above the previous close."""
    moved = m.value > 0
    kept = m.per["ret"] < 0 if spec.direction == "fall" else m.per["ret"] > 0
    verdict = "supported" if moved and kept else "contradicted" if not moved else "understated"
    return verdict, f"intraday, day 0: {m.text}"


def not_checkable(spec, m: Measurement) -> tuple[str, str]:
    article = f" (article: {_figure(spec.figure, METRICS[spec.metric].unit)})" if spec.figure is not None else ""
    return "not checkable with daily data", f"daily data cannot check this; nearest evidence: {m.text}{article}"


@dataclass(frozen=True)
class Rule:
    """A wording rule and the metrics it can judge; ``figure`` says whether it needs the
    article's number."""

    func: Callable[..., tuple[str, str]]
    metrics: frozenset[str]
    figure: bool


_SCALAR = frozenset(METRICS) - {"rebound"}
RULES: dict[str, Rule] = {
    "rounded_percent": Rule(_scalar(rounded_percent), frozenset(m for m in _SCALAR if METRICS[m].unit == "%"), True),
    "close_to": Rule(_scalar(close_to), _SCALAR, True),
    "more_than": Rule(_scalar(more_than), _SCALAR, True),
    "double_digit": Rule(double_digit, frozenset({"universe_returns"}), False),
    "all_moved": Rule(all_moved, frozenset({"universe_returns"}), False),
    "partly_recovered": Rule(partly_recovered, frozenset({"rebound"}), False),
    "not_checkable": Rule(not_checkable, frozenset(METRICS), False),
}
# an earlier name, still read: implies a fall
RULE_FALL_ALIASES = {"all_fell": "all_moved"}


def check(specs, ctx: ClaimContext, windows: tuple[str, ...]) -> pd.DataFrame:
    """The claims table: ``id, article, says, window, computed, verdict, reason``. ``windows``
    are the labels of the run's windows: a claim on another window is not checkable."""
    rows = []
    for spec in specs:
        span = _span(spec)
        try:
            if spec.window and spec.window not in windows:
                raise NotCheckable(
                    f"its window {spec.window!r} is not among this run's windows ({', '.join(windows)}); "
                    "a --window override replaces the study's windows"
                )
            m = METRICS[spec.metric].func(spec, ctx)
            verdict, reason = RULES[spec.rule].func(spec, m)
            computed = m.text
        except NotCheckable as exc:
            why = str(exc)
            if spec.ticker in ctx.excluded and "was excluded" not in why:
                why += f" ({spec.ticker} was excluded: {ctx.excluded[spec.ticker]})"
            verdict, reason, computed = "not checkable", f"not checkable: {why}", "–"
        assert verdict in VERDICTS
        article = f"{spec.article} \u201c{spec.title}\u201d" if spec.title else spec.article
        rows.append(ClaimCheck(spec.id, article, spec.says, span, computed, verdict, reason))
    return pd.DataFrame([r.__dict__ for r in rows], columns=list(ClaimCheck.__dataclass_fields__))
