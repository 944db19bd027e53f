"""A study's long horizons (``[long]``): BHARs against its reference over windows of up to years
of sessions, their skewness-adjusted tests, and the calendar-time portfolio regressions
(:mod:`eventstudy.core.longrun`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..core import longrun
from ..core.returns import factor_regressors
from ..core.windows import Window

CALENDAR_MODELS = {"ff3": ("mkt_rf", "smb", "hml"), "carhart": ("mkt_rf", "smb", "hml", "mom")}


@dataclass(frozen=True)
class LongSpec:
    """``[long]`` of a study file: ``windows`` in sessions from day 0, the ``reference`` (a
    ticker or a ``[benchmarks]`` name; default: the study's benchmark), ``calendar_time`` (``ff3``
    or ``carhart``; empty: none) and the least number of firms a calendar-time session needs."""

    windows: tuple[Window, ...]
    reference: str = ""
    calendar_time: str = ""
    min_firms: int = longrun.MIN_PORTFOLIO

    @property
    def reach(self) -> int:
        return max(w.end for w in self.windows)


def run_long(
    spec: LongSpec,
    reference: str,
    returns: pd.DataFrame,
    reference_returns: pd.Series,
    events: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    factors: Mapping[str, pd.DataFrame],
    values: pd.DataFrame | None,
) -> longrun.LongRun:
    """BHARs of ``events`` (``event_id, ticker, event_date``), their tests by group (of event
    ids) and, with ``spec.calendar_time``, the equal- and value-weighted (``values``: market
    values) calendar-time alphas."""
    table, paths = longrun.bhar(returns, reference_returns, events, spec.windows)
    tests = longrun.bhar_tests(table, groups)
    if spec.calendar_time:
        columns = CALENDAR_MODELS[spec.calendar_time]
        regs = factor_regressors(dict(factors), columns)
        rows = []
        for group, ids in groups.items():
            sub = events[events.event_id.isin(set(ids))]
            for w in spec.windows:
                fits = {
                    "ew": longrun.calendar_time(returns, sub, w, regs, columns, None, spec.min_firms),
                    "vw": longrun.calendar_time(returns, sub, w, regs, columns, values, spec.min_firms)
                    if values is not None
                    else None,
                }
                rows += longrun.calendar_rows(group, w, fits, spec.calendar_time, spec.min_firms)
        tests = pd.concat([tests, pd.DataFrame(rows, columns=longrun.TEST_COLUMNS)], ignore_index=True)
    return longrun.LongRun(table, tests, longrun.mean_path(paths, groups), reference, spec.calendar_time)
