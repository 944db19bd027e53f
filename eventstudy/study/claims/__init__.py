"""Claims checked against the numbers: a metric computes a value, a wording rule gives the verdict.

A claim says that something *fell* or *rose* (``direction``); its metric measures the move as a
positive magnitude in that direction (a rise against a claimed fall is negative, and the
verdict is then ``contradicted``). Metrics read a :class:`ClaimContext`; when the evidence is
not there — a firm that was excluded, a value that is missing, a universe with no firm, a
window the run does not have — the claim is ``not checkable`` with the reason, never judged.
No verdict is written anywhere: each is computed here from its number.

:mod:`.context` holds what a claim is checked against and what checking gives, :mod:`.metrics`
the measures, :mod:`.rules` the wording rules; :func:`check` (here) puts them together.
"""

from __future__ import annotations

import pandas as pd

from .context import VERDICTS, ClaimCheck, ClaimContext, NotCheckable, window_span
from .metrics import METRICS
from .rules import RULES


def check(specs, ctx: ClaimContext, windows: tuple[str, ...]) -> pd.DataFrame:
    """The claims table: ``id, article, says, window, computed, verdict, reason``. ``windows``
    are the labels of the run's windows: a claim on another window is not checkable."""
    rows = []
    for spec in specs:
        span = window_span(spec)
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
