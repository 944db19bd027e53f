"""The one-date report's table of the firms left out, or without a CAR in a window, and why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import first_few

SHOWN_FIRMS = 6  # firms named in a row of the excluded table; more are counted (all in results/excluded.csv)


def excluded_table(excluded: pd.DataFrame, md, fitted: int) -> str:
    """The firms excluded, then those without a CAR in a window, one row per stage and reason: a
    window past the end of the data leaves every firm without its CAR, for one reason, and is one
    row, not one per firm (``fitted``: how many firms were fitted, to say "every one")."""
    if not len(excluded):
        return "None."
    rows = excluded.groupby(["stage", "reason"], sort=False).ticker.agg(list).reset_index()
    window = rows.stage.str.startswith("window").to_numpy()
    order = np.argsort(window, kind="stable")
    rows, window = rows.iloc[order], window[order]
    firms = [_firms(t, fitted if w else None) for t, w in zip(rows.ticker, window, strict=True)]
    counted = any(len(t) > SHOWN_FIRMS for t in rows.ticker)
    note = "\n\nEach firm with its reason: `results/excluded.csv`." if counted else ""
    return md(rows.assign(firms=firms)[["firms", "stage", "reason"]]) + note


def _firms(tickers: list[str], fitted: int | None) -> str:
    """The firms of a row; a window's row that has every fitted firm says so."""
    if len(tickers) <= SHOWN_FIRMS:
        return first_few(tickers, SHOWN_FIRMS)
    if len(tickers) == fitted:
        return f"every fitted firm ({fitted})"
    return first_few(tickers, SHOWN_FIRMS - 1)
