"""The wording rules that turn a claim's number into a verdict (rounded percent, close to, more
than, double digit, all moved, partly recovered), judged per universe with its coverage: a
verdict that the missing members could change is not given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ...core.tables import money_bn
from .context import Measurement, NotCheckable, Part, figure_text, sign_of, window_span
from .metrics import METRICS


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
        shown = (lambda v: f"{v:.{places}f} %") if unit == "%" else money_bn
        article = figure_text(spec.figure, unit)

        def said(verdict: str, y: float) -> str:
            if verdict == "contradicted":
                return f"moved the other way: {shown(y)} against the article's {article} {spec.direction}"
            return f"computed {shown(y)} vs the article's {article}"

        def judge_part(p: Part) -> tuple[str, str]:
            if not p.moves:
                return NOT_CHECKABLE, f"no member of {p.universe} has a value over {window_span(spec)}"
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
            return NOT_CHECKABLE, f"no member of {p.universe} has a return over {window_span(spec)}"
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
        names = ", ".join(f"{t} {sign_of(spec) * v:+.1f} %" for t, v in short.items())
        verb = "gained" if spec.direction == "rise" else "lost"
        return (
            f"{int((moves >= 10).sum())} of {len(moves)} {verb} ≥ 10 % over {window_span(spec)}; not: {names or 'none'}"
        )

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
        names = ", ".join(f"{t} {sign_of(spec) * v:+.1f} %" for t, v in against.items())
        verb = "rose" if spec.direction == "rise" else "fell"
        return (
            f"{int((moves > 0).sum())} of {len(moves)} {verb} over {window_span(spec)} "
            f"(median {sign_of(spec) * p.value:+.1f} %); did not: {names or 'none'}"
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
    article = f" (article: {figure_text(spec.figure, METRICS[spec.metric].unit)})" if spec.figure is not None else ""
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
