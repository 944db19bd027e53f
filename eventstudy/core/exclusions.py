"""Why a firm-event is left out, worded once for every engine (in memory, streamed, Dask)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from .._typing import BoolArray, IntArray


class Span(Protocol):
    """A window's first and last day (a :class:`~eventstudy.core.windows.Window`), as the
    reasons word it: this module sits below windows.py, which places events with :func:`locate`."""

    start: int
    end: int


COLUMNS = ["event_id", "ticker", "stage", "reason"]


def table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The exclusion rows of every stage in one frame of :data:`COLUMNS` (stage and reason as
    strings; every column when there is none). The ids keep their type: a stage without
    exclusions (an empty frame, its columns of no type) takes no part."""
    out = pd.concat([p for p in parts if len(p)] or parts, ignore_index=True).reindex(columns=COLUMNS)
    return out.astype(dict.fromkeys(COLUMNS if out.empty else ["stage", "reason"], "str"))


def locate(index: pd.DatetimeIndex, columns: pd.Index, events: pd.DataFrame) -> tuple[IntArray, IntArray, pd.DataFrame]:
    """Each event's column among the return data's tickers and row among its sessions (−1 when
    absent), and the events that cannot be placed, with their reason. ``event_id`` must be
    unique."""
    if len(pd.unique(events["event_id"])) != len(events):  # hashed once: a third of duplicated()'s time
        repeated = pd.Index(events["event_id"])
        repeated = repeated[repeated.duplicated()].unique()
        raise ValueError(f"event_id must identify one firm-event; repeated: {list(repeated[:5])}")
    codes, tickers = pd.factorize(events["ticker"])  # each distinct ticker looked up once (−1: none given)
    col = np.append(pd.Index(columns).get_indexer(tickers), -1)[codes]
    dates = pd.DatetimeIndex(events["event_date"])
    pos = pd.DatetimeIndex(index).get_indexer(dates)
    bad = (col < 0) | (pos < 0)
    off = np.where(dates[bad].isna(), "the event date is missing", "the event date is not a session of the return data")
    excluded = pd.DataFrame(
        {
            "event_id": events["event_id"][bad],
            "ticker": events["ticker"][bad],
            "stage": "align",
            "reason": np.where(col[bad] < 0, "no returns for this ticker", off),
        }
    )
    return col, pos, excluded.reset_index(drop=True)


def estimation(
    event_ids, tickers, n_obs: IntArray, removed: IntArray, enough: BoolArray, est: Span, need: int
) -> pd.DataFrame:
    """The firm-events whose estimation failed, with :func:`estimation_reasons`."""
    return pd.DataFrame(
        {
            "event_id": event_ids,
            "ticker": tickers,
            "stage": "estimation",
            "reason": estimation_reasons(n_obs, removed, enough, est, need),
        },
        columns=COLUMNS,
    )


def estimation_reasons(n_obs: IntArray, removed: IntArray, enough: BoolArray, est: Span, need: int) -> list[str]:
    """Why each estimation failed: too few valid returns (``enough`` False; how many were left
    out for the firm's other events), else a singular fit."""
    return [
        f"{h} valid returns in the estimation window [{est.start},{est.end}]"
        + (f" ({r} left out: the firm's other events)" if r else "")
        + f"; {need} are needed (min_estimation_obs)"
        if short
        else "singular regressors or zero residual variance"
        for h, r, short in zip(n_obs, removed, ~np.asarray(enough, bool), strict=True)
    ]


def missing_days(grid: IntArray, late: BoolArray, no_return: BoolArray, no_factor: dict[str, BoolArray]) -> str:
    """Why a window has no CAR: its days (relative to the event) after the last session of the
    return data (``late``; none can come before the first, as the estimation window, which
    precedes every window, would then have no return), and the days within the data on which
    the firm's return, or a regressor series of the model, is missing."""
    parts = [f"day(s) {_days(grid[late])} after the last session of the data"] if late.any() else []
    gaps = {"missing return": no_return & ~late} | {f"no {name} data": m & ~late for name, m in no_factor.items()}
    parts += [f"{what} on day(s) {_days(grid[m])}" for what, m in gaps.items() if m.any()]
    return "; ".join(parts) + ": no CAR"


def _days(days: np.ndarray) -> str:
    """The days, in order, each run of three or more consecutive days as its first and last
    ("+2, +5 to +9"): a window far past the data would otherwise list hundreds."""
    days = np.asarray(days)
    starts = np.flatnonzero(np.r_[True, np.diff(days) != 1])
    ends = np.r_[starts[1:], len(days)] - 1
    parts = []
    for a, b in zip(days[starts], days[ends], strict=True):
        parts += [f"{a:+d} to {b:+d}"] if b - a >= 2 else [f"{d:+d}" for d in range(a, b + 1)]
    return ", ".join(parts)
