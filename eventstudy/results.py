"""Immutable result objects: tidy frames inside, ``summary()`` for people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from .models import Model
from .tables import stars, text_table
from .windows import Window


class _SummaryStr:
    """``__str__`` and ``_repr_html_`` from ``summary()``, as linearmodels' results do."""

    def summary(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{self.summary()}</pre>"


@dataclass(frozen=True, repr=False)
class EventStudyResult(_SummaryStr):
    """The estimates of one event study.

    Tidy frames (fixed columns):

    - ``events``: ``event_id, ticker, event_date, n_est, sigma`` and one column per parameter;
    - ``ar``: ``event_id, ticker, day, date, ar, se, sar, car`` over the path (``car`` cumulated
      from the path's first day);
    - ``car``: ``event_id, ticker, window, car, se, t, p, dof, n_est, n_missing``;
    - ``tests``: ``group, window, test, stat, p, dist, n_firms, robust``;
    - ``caar``: ``group, day, aar, caar, se`` (se from the portfolio σ̂_p · √days);
    - ``excluded``: ``event_id, ticker, stage, reason``.
    """

    model: Model
    estimation: Window
    windows: tuple[Window, ...]
    path: Window
    events: pd.DataFrame
    ar: pd.DataFrame
    car: pd.DataFrame
    tests: pd.DataFrame
    caar: pd.DataFrame
    excluded: pd.DataFrame
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"EventStudyResult(model={self.model.name!r}, firm_events={len(self.events)}, "
                f"excluded={len(self.excluded)}, groups={list(self.groups)})")

    def test(self, group: str, window: str, test: str) -> pd.Series:
        t = self.tests
        row = t[(t.group == group) & (t.window == window) & (t.test == test)]
        if row.empty:
            raise KeyError(f"no {test!r} result for group {group!r}, window {window!r}")
        return row.iloc[0]

    def car_of(self, window: str) -> pd.DataFrame:
        return self.car[self.car.window == window].set_index("ticker")

    def summary(self, window: str | None = None) -> str:
        window = window or self.windows[0].label
        cars = self.car_of(window).reset_index()
        cars["sig"] = [stars(p) for p in cars.p]
        tests = self.tests[self.tests.window == window].copy()
        tests["sig"] = [stars(p) for p in tests.p]
        parts = [
            f"Event study: {self.model.description}",
            f"estimation {self.estimation.start}..{self.estimation.end} sessions; "
            f"{len(self.events)} firm-events fitted, {self.excluded.event_id.nunique()} with exclusions",
            f"\nCAR {window} by firm-event (t with L − K d.o.f.)",
            text_table(cars[["ticker", "car", "se", "t", "p", "sig"]],
                       {"car": ".4f", "se": ".4f", "t": ".2f", "p": ".4f"}),
            f"\nGroup tests, {window} (robust = holds under cross-correlation)",
            text_table(tests[["group", "test", "stat", "p", "dist", "n_firms", "robust", "sig"]],
                       {"stat": ".3f", "p": ".4f"}),
        ]
        if len(self.excluded):
            parts += ["\nExcluded", text_table(self.excluded)]
        return "\n".join(parts)
