"""Dollar effects: raw and abnormal market-value changes per firm, window and group.

Raw change over a window W = [τ1, τ2]: MV at τ2 − MV at τ1 − 1. Abnormal change:
Σ_{τ∈W} MV_{τ−1} · AR_τ — the part the model does not attribute to the benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..core.returns import stack
from ..core.windows import Window

UNVALUED = (
    "No firm has a market value before day 0 (the data give no price and shares outstanding), so nothing is in money."
)


def day0_facts(
    ohlc: Mapping[str, pd.DataFrame],
    mv: pd.DataFrame,
    ret0: pd.Series,
    ar0: pd.Series,
    event: pd.Timestamp,
    prev: pd.Timestamp,
) -> pd.DataFrame:
    """Per firm: day-0 total return, low, high and open vs the previous close, close vs low and
    high, AR, and the market-value change close to close, at the intraday low and high, and
    abnormal (USD)."""
    firms = list(mv.columns)
    have = {f: ohlc[f] for f in firms if f in ohlc}
    got = stack(have, pd.DatetimeIndex([prev, event]), "open", "high", "low", "close")
    at = [i for i, f in enumerate(firms) if f in have]
    o, h, lo, c = (np.full((2, len(firms)), np.nan) for _ in range(4))
    for full, part in zip((o, h, lo, c), got, strict=True):
        full[:, at] = part
    c0 = c[0]
    ret = ret0.reindex(firms).to_numpy(dtype="float64")
    ar = ar0.reindex(firms).to_numpy(dtype="float64")
    mv_prev = mv.loc[prev].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "prev_close": c0,
            "open": o[1],
            "high": h[1],
            "low": lo[1],
            "close": c[1],
            "ret": ret,
            "low_ret": lo[1] / c0 - 1,
            "high_ret": h[1] / c0 - 1,
            "open_gap": o[1] / c0 - 1,
            "close_vs_low": c[1] / lo[1] - 1,
            "close_vs_high": c[1] / h[1] - 1,
            "ar": ar,
            "mv_prev": mv_prev,
            "mv_change": mv.loc[event].to_numpy(dtype="float64") - mv_prev,
            "mv_change_at_low": mv_prev * (lo[1] / c0 - 1),
            "mv_change_at_high": mv_prev * (h[1] / c0 - 1),
            "mv_abnormal": mv_prev * ar,
        },
        index=pd.Index(firms, name="firm"),
    )


def window_effects(
    mv: pd.DataFrame,
    returns: pd.DataFrame,
    ar: pd.DataFrame,
    days: pd.DatetimeIndex,
    event_pos: int,
    windows: tuple[Window, ...],
) -> pd.DataFrame:
    """Per firm and window: compounded raw return, CAR, raw and abnormal market-value change.
    ``ar`` is days × firms of abnormal returns on the sessions ``days``."""
    firms = mv.columns
    r_all, a_all = returns.reindex(columns=firms), ar.reindex(columns=firms)
    frames = []
    for w in windows:
        span = days[event_pos + w.start : event_pos + w.end + 1]
        before = days[event_pos + w.start - 1]
        prev = days[event_pos + w.start - 1 : event_pos + w.end]
        # firm × day, each firm's days contiguous: the sums run as over one firm's series
        r = np.ascontiguousarray(r_all.reindex(span).to_numpy().T)
        a = np.ascontiguousarray(a_all.reindex(span).to_numpy().T)
        m = np.ascontiguousarray(mv.reindex(prev).to_numpy().T)
        car = np.where(np.isnan(a).any(axis=1), np.nan, np.where(np.isnan(a), 0.0, a).sum(axis=1))
        frames.append(
            pd.DataFrame(
                {
                    "firm": firms,
                    "window": w.label,
                    "ret": np.prod(1 + r, axis=1) - 1,
                    "car": car,
                    "mv_raw": mv.loc[span[-1]].to_numpy() - mv.loc[before].to_numpy(),
                    "mv_abnormal": (m * a).sum(axis=1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


FLAG_COLUMNS = {
    "filed": "filed",
    "filed_after": "filed after",
    "filed_undated": "filed, undated",
    "implied_2026": "implied, 2026",
}

# the columns of a totals table that a reader compares: money, firms, and the share-count flags
TOTALS_COLUMNS = ("n_firms", "mv_raw", "mv_abnormal", *FLAG_COLUMNS)


def group_totals(effects: pd.DataFrame, groups: Mapping[str, tuple[str, ...]], shares: pd.DataFrame) -> pd.DataFrame:
    """Per group and window: summed raw and abnormal changes, firms counted, how many used each
    share-count flag and how many were priced at an adjusted close; firms without a market
    value are named."""
    info = shares.set_index("firm")
    rows = []
    for group, firms in groups.items():
        sub = effects[effects.firm.isin(firms)]
        for window, w in sub.groupby("window", sort=False):
            valued = w[w.mv_raw.notna()]
            fl = info.flag.reindex(valued.firm).value_counts()
            rows.append(
                {
                    "group": group,
                    "window": window,
                    "mv_raw": valued.mv_raw.sum(min_count=1),  # no valued firm: missing, never 0
                    "mv_abnormal": valued.mv_abnormal.sum(min_count=1),
                    "n_firms": len(valued),
                    **{col: int(fl.get(flag, 0)) for col, flag in FLAG_COLUMNS.items()},
                    "adj_close_priced": int(info.price_basis.reindex(valued.firm).str.startswith("adjusted").sum()),
                    "no_value": ", ".join(sorted(set(w.firm) - set(valued.firm))),
                }
            )
    return pd.DataFrame(rows)
