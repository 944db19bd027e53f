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
from dataclasses import dataclass

import pandas as pd

from . import windows as _windows

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
    """``day0``: per firm ``ret, low_ret, high_ret, open_gap, close_vs_low, close_vs_high, ar,
    mv_change, mv_change_at_low, mv_change_at_high``; ``windows``: ``firm, window, ret, car,
    mv_raw`` for every window of the run and day 0 (``[0,0]``); ``totals``: per group and window
    ``mv_raw`` (USD) and ``n_firms``; ``groups``: group → firms studied; ``path``: firm × day raw
    returns after day 0; ``excluded``: ticker → why it is not studied."""

    day0: pd.DataFrame
    windows: pd.DataFrame
    totals: pd.DataFrame
    groups: Mapping[str, tuple[str, ...]]
    path: pd.DataFrame
    excluded: Mapping[str, str]


@dataclass(frozen=True)
class Measurement:
    value: float
    text: str
    per: Mapping[str, float] | None = None


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
    t = spec.ticker
    if t in ctx.day0.index:
        return ctx.day0.loc[t]
    if t in ctx.excluded:
        raise NotCheckable(f"{t} was excluded: {ctx.excluded[t]}")
    raise NotCheckable(f"{t} is not a firm of this study")


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


def total_mv_change(spec, ctx: ClaimContext) -> Measurement:
    """Each universe's summed market-value change over the window; universes without a valued
    firm are named and left out."""
    t = ctx.totals[ctx.totals.window == _label(spec)].set_index("group")
    per, parts, empty = {}, [], []
    for u in spec.universes:
        if u not in t.index or int(t.loc[u, "n_firms"]) == 0:
            empty.append(u)
            continue
        change = t.loc[u, "mv_raw"] / 1e9
        per[u] = _sign(spec) * change
        parts.append(f"{u} ({int(t.loc[u, 'n_firms'])} firms) {_signed_bn(change)}")
    if not per:
        raise NotCheckable(f"no firm of {', '.join(spec.universes)} has a market value over {_span(spec)}")
    if empty:
        parts.append(f"no valued firm in {', '.join(empty)}")
    return Measurement(max(per.values()), "; ".join(parts), per=per)


def _span_returns(ctx: ClaimContext, firms: list[str], label: str) -> tuple[pd.Series, pd.Series]:
    w = ctx.windows[ctx.windows.window == label].set_index("firm").reindex(firms)
    return w.ret, w.car


def universe_returns(spec, ctx: ClaimContext, list_up_to: int = 6) -> Measurement:
    """Raw returns of a universe over the claim's window: the share that moved in the claimed
    direction and the median, with abnormal returns beside; a small universe (up to
    ``list_up_to`` names) is listed name by name on day 0 and over the window."""
    u = spec.universes[0]
    firms = list(ctx.groups.get(u, ()))
    ret, ar = _span_returns(ctx, firms, _label(spec))
    ret = ret.dropna()
    if ret.empty:
        raise NotCheckable(f"no firm of {u} has a return over {_span(spec)}")
    verb = "rose" if spec.direction == "rise" else "fell"
    moved = (ret > 0) if spec.direction == "rise" else (ret < 0)
    tilted = (ar > 0) if spec.direction == "rise" else (ar < 0)
    sign = "positive" if spec.direction == "rise" else "negative"
    text = (
        f"{u} over {_span(spec)}: {int(moved.sum())} of {len(ret)} {verb}, median {100 * ret.median():+.1f} %; "
        f"abnormal: {int(tilted.sum())} of {int(ar.notna().sum())} {sign}"
    )
    if len(firms) <= list_up_to:
        spans = dict.fromkeys([DAY0, _label(spec)])
        parts = []
        for f in ret.index:
            shown = []
            for sp in spans:
                r, a = (x.iloc[0] for x in _span_returns(ctx, [f], sp))
                ab = "–" if not math.isfinite(a) else f"{100 * a:+.1f} %"
                shown.append(f"{'day 0' if sp == DAY0 else sp} {100 * r:+.1f} % (abnormal {ab})")
            parts.append(f"{f} " + ", ".join(shown))
        text += " — " + "; ".join(parts)
    missing = sorted(set(firms) - set(ret.index))
    if missing:
        text += f"; no return for {', '.join(missing)}"
    signed = 100 * _sign(spec) * ret
    return Measurement(float(signed.median()), text, per=dict(signed.items()))


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


def rounded_percent(x: float, y: float) -> str:
    """ "up to X %" / "X %": supported if |Y − X| < 0.5 point; roughly right to 1.5 points."""
    gap = abs(y - x)
    return "supported" if gap < 0.5 else "roughly right" if gap <= 1.5 else "overstated" if y < x else "understated"


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


def _scalar(rule: Callable[[float, float], str]):
    """A rule on one number; a move against the claimed direction (Y < 0) contradicts it. Over
    several universes, each is judged and the claim takes the best-fitting one's verdict."""

    def judge(x: float, y: float) -> str:
        return "contradicted" if y < 0 else rule(x, y)

    def apply(spec, m: Measurement) -> tuple[str, str]:
        unit = METRICS[spec.metric].unit
        shown = _pct if unit == "%" else _bn
        article = _figure(spec.figure, unit)
        if m.per and len(spec.universes) > 1:
            verdicts = {u: judge(spec.figure, v) for u, v in m.per.items()}
            best = min(verdicts, key=lambda u: (_RANK[verdicts[u]], abs(m.per[u] - spec.figure)))
            fits = [u for u, v in verdicts.items() if v == verdicts[best]]
            per = ", ".join(f"{u}: {v}" for u, v in verdicts.items())
            return verdicts[best], (
                f"{verdicts[best]} for: {', '.join(fits)}; best fit {best} at {shown(m.per[best])} "
                f"vs the article's {article} ({per})"
            )
        verdict = judge(spec.figure, m.value)
        if verdict == "contradicted":
            return verdict, f"moved the other way: {shown(m.value)} against the article's {article} {spec.direction}"
        return verdict, f"computed {shown(m.value)} vs the article's {article}"

    return apply


def double_digit(spec, m: Measurement) -> tuple[str, str]:
    """Every name moved ≥ 10 % the claimed way: supported; more than half: roughly right;
    else overstated."""
    moves = pd.Series(m.per)
    short = moves[moves < 10].sort_values()
    share = (moves >= 10).mean()
    verdict = "supported" if share == 1 else "roughly right" if share > 0.5 else "overstated"
    names = ", ".join(f"{t} {_sign(spec) * v:+.1f} %" for t, v in short.items())
    verb = "gained" if spec.direction == "rise" else "lost"
    return (
        verdict,
        f"{int((moves >= 10).sum())} of {len(moves)} {verb} ≥ 10 % over {_span(spec)}; not: {names or 'none'}",
    )


def all_moved(spec, m: Measurement) -> tuple[str, str]:
    """Every name moved the claimed way: supported; all but one or two: roughly right; several
    did not: contradicted."""
    moves = pd.Series(m.per)
    against = moves[moves <= 0]
    verdict = "supported" if against.empty else "roughly right" if len(against) <= 2 else "contradicted"
    names = ", ".join(f"{t} {_sign(spec) * v:+.1f} %" for t, v in against.items())
    verb = "rose" if spec.direction == "rise" else "fell"
    return (
        verdict,
        f"{int((moves > 0).sum())} of {len(moves)} {verb} over {_span(spec)} (median {_sign(spec) * m.value:+.1f} %); "
        f"did not: {names or 'none'}",
    )


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
