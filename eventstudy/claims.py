"""Claims checked against the numbers: a metric computes a value, a wording rule gives the verdict.

Metrics read a :class:`ClaimContext` (day-0 facts per firm, window returns, group dollar
totals). Rules follow the verdict rules of the study's claims sheet; values are positive
magnitudes of a loss. No verdict is written anywhere: each is computed here from its number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

VERDICTS = ("supported", "roughly right", "overstated", "understated", "contradicted", "not checkable with daily data")


@dataclass(frozen=True)
class ClaimContext:
    """``day0``: per firm ``ret, low_ret, open_gap, close_vs_low, ar, mv_change, mv_change_at_low``;
    ``windows``: ``firm, window, ret, car``; ``totals``: per group ``mv_raw`` on day 0 (USD) and
    ``n_firms``; ``groups``: group → firms; ``path``: firm × day raw returns after day 0."""

    day0: pd.DataFrame
    windows: pd.DataFrame
    totals: pd.DataFrame
    groups: Mapping[str, tuple[str, ...]]
    path: pd.DataFrame


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
    computed: str
    verdict: str
    reason: str


def _pct(x: float) -> str:
    return f"{x:.1f} %"


def _bn(x: float) -> str:
    return f"${x:,.0f} bn"


# --- metrics ---------------------------------------------------------------------------------


def intraday_low_loss(spec, ctx: ClaimContext) -> Measurement:
    d = ctx.day0.loc[spec.ticker]
    return Measurement(
        -100 * d.low_ret,
        f"{spec.ticker} low {_pct(-100 * d.low_ret)} below the previous close (close to close: {_pct(-100 * d.ret)})",
    )


def mv_loss(spec, ctx: ClaimContext) -> Measurement:
    d = ctx.day0.loc[spec.ticker]
    return Measurement(
        -d.mv_change / 1e9,
        f"{spec.ticker} lost {_bn(-d.mv_change / 1e9)} close to close "
        f"({_bn(-d.mv_change_at_low / 1e9)} at the intraday low)",
    )


def opening_gap(spec, ctx: ClaimContext) -> Measurement:
    d = ctx.day0.loc[spec.ticker]
    return Measurement(-100 * d.open_gap, f"{spec.ticker} opened {_pct(-100 * d.open_gap)} below the previous close")


def rebound(spec, ctx: ClaimContext) -> Measurement:
    d = ctx.day0.loc[spec.ticker]
    after = ctx.path.loc[spec.ticker]
    nxt = ", ".join(f"day {k:+d} {100 * v:+.1f} %" for k, v in after.head(3).items())
    return Measurement(
        100 * d.close_vs_low,
        f"{spec.ticker} closed {_pct(100 * d.close_vs_low)} above its low and "
        f"{_pct(-100 * d.ret)} below the previous close; next sessions: {nxt}",
        per={"low_ret": d.low_ret, "ret": d.ret},
    )


def total_mv_loss(spec, ctx: ClaimContext) -> Measurement:
    t = ctx.totals.set_index("group")
    per = {u: -t.loc[u, "mv_raw"] / 1e9 for u in spec.universes}
    text = "; ".join(f"{u} ({int(t.loc[u, 'n_firms'])} firms) {_bn(v)}" for u, v in per.items())
    return Measurement(max(per.values()), text, per=per)


def _span_returns(ctx: ClaimContext, firms: list[str], window: str) -> tuple[pd.Series, pd.Series]:
    """Raw and abnormal returns of ``firms`` on day 0 (``window`` empty) or over a window."""
    if not window:
        return ctx.day0.ret.reindex(firms), ctx.day0.ar.reindex(firms)
    w = ctx.windows[ctx.windows.window == window].set_index("firm").reindex(firms)
    return w.ret, w.car


def universe_returns(spec, ctx: ClaimContext, list_up_to: int = 6) -> Measurement:
    """Raw returns of a universe over the claim's span (day 0 unless ``window``): the share
    that fell and the median, with abnormal returns beside; a small universe (up to
    ``list_up_to`` names) is listed name by name on day 0 and over the span."""
    firms = list(ctx.groups[spec.universes[0]])
    ret, ar = _span_returns(ctx, firms, spec.window)
    ret = ret.dropna()
    span = spec.window or "day 0"
    text = (
        f"{spec.universes[0]} over {span}: {int((ret < 0).sum())} of {len(ret)} fell, median "
        f"{100 * ret.median():+.1f} %; abnormal: {int((ar < 0).sum())} of {int(ar.notna().sum())} negative"
    )
    if len(firms) <= list_up_to:
        spans = dict.fromkeys(["", spec.window])
        parts = []
        for f in firms:
            shown = []
            for sp in spans:
                r, a = (x.iloc[0] for x in _span_returns(ctx, [f], sp))
                shown.append(f"{sp or 'day 0'} {100 * r:+.1f} % (abnormal {100 * a:+.1f} %)")
            parts.append(f"{f} " + ", ".join(shown))
        text += " — " + "; ".join(parts)
    return Measurement(float(-100 * ret.median()), text, per={t: -100 * v for t, v in ret.items()})


METRICS: dict[str, Callable[..., Measurement]] = {
    "intraday_low_loss": intraday_low_loss,
    "mv_loss": mv_loss,
    "opening_gap": opening_gap,
    "rebound": rebound,
    "total_mv_loss": total_mv_loss,
    "universe_returns": universe_returns,
}


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
    def apply(spec, m: Measurement) -> tuple[str, str]:
        unit = _pct if spec.unit == "%" else _bn
        if m.per and len(spec.universes) > 1:
            verdicts = {u: rule(spec.figure, v) for u, v in m.per.items()}
            best = min(verdicts, key=lambda u: (_RANK[verdicts[u]], abs(m.per[u] - spec.figure)))
            fits = [u for u, v in verdicts.items() if v == "supported"] or ["none"]
            per = ", ".join(f"{u}: {v}" for u, v in verdicts.items())
            return verdicts[best], (
                f"best fit {best} at {unit(m.per[best])} vs {unit(spec.figure)}; "
                f"supported for: {', '.join(fits)} ({per})"
            )
        return rule(spec.figure, m.value), f"computed {unit(m.value)} vs the article's {unit(spec.figure)}"

    return apply


def double_digit(spec, m: Measurement) -> tuple[str, str]:
    """Every name lost ≥ 10 %: supported; more than half: roughly right; else overstated."""
    losses = pd.Series(m.per)
    short = losses[losses < 10].sort_values()
    share = (losses >= 10).mean()
    verdict = "supported" if share == 1 else "roughly right" if share > 0.5 else "overstated"
    names = ", ".join(f"{t} {v:.1f} %" for t, v in short.items())
    return verdict, f"{int((losses >= 10).sum())} of {len(losses)} lost ≥ 10 %; not: {names or 'none'}"


def all_fell(spec, m: Measurement) -> tuple[str, str]:
    """Every name fell: supported; all but one or two: roughly right; several rose: contradicted."""
    losses = pd.Series(m.per)
    rose = losses[losses <= 0]
    verdict = "supported" if rose.empty else "roughly right" if len(rose) <= 2 else "contradicted"
    names = ", ".join(f"{t} {-v:+.1f} %" for t, v in rose.items())
    span = spec.window or "day 0"
    fell = int((losses > 0).sum())
    return (
        verdict,
        f"{fell} of {len(losses)} fell over {span} (median {-m.value:+.1f} %); did not fall: {names or 'none'}",
    )


def partly_recovered(spec, m: Measurement) -> tuple[str, str]:
    """Rose from the low but stayed below the previous close."""
    rose, below = m.value > 0, m.per["ret"] < 0
    verdict = "supported" if rose and below else "contradicted" if not rose else "understated"
    return verdict, f"intraday, day 0: {m.text}"


def not_checkable(spec, m: Measurement) -> tuple[str, str]:
    return (
        "not checkable with daily data",
        f"daily data cannot see pre-market trading; nearest evidence: {m.text} (article: {spec.figure:g} % pre-market)",
    )


RULES: dict[str, Callable[..., tuple[str, str]]] = {
    "rounded_percent": _scalar(rounded_percent),
    "close_to": _scalar(close_to),
    "more_than": _scalar(more_than),
    "double_digit": double_digit,
    "all_fell": all_fell,
    "partly_recovered": partly_recovered,
    "not_checkable": not_checkable,
}


def check(specs, ctx: ClaimContext) -> pd.DataFrame:
    """The claims table: ``id, article, says, computed, verdict, reason``."""
    rows = []
    for spec in specs:
        m = METRICS[spec.metric](spec, ctx)
        verdict, reason = RULES[spec.rule](spec, m)
        assert verdict in VERDICTS
        rows.append(ClaimCheck(spec.id, f"{spec.article} \u201c{spec.title}\u201d", spec.says, m.text, verdict, reason))
    return pd.DataFrame([r.__dict__ for r in rows], columns=list(ClaimCheck.__dataclass_fields__))
