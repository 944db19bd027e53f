"""Influence: does one event decide an estimate? Leave-one-out effects on a group's CAAR and on
the second stage's coefficients, with the usual diagnostics (pure: arrays and frames in and out).

For a group's CAAR (the mean of N CARs: an intercept-only regression, h_ii = 1/N):

- leave-one-out: CAAR_(−i) = (N·CAAR − CAR_i)/(N − 1), Δ_i = CAAR − CAAR_(−i) = (CAR_i − CAAR)/(N − 1);
- Cook's distance (Cook 1977): D_i = N (CAR_i − CAAR)² / ((N − 1)² s²);
- DFBETAS (Belsley, Kuh & Welsch 1980): Δ_i / (s_(−i)/√N), s_(−i) the s.d. of the other CARs;
- the event's share of Σ CAR.

For a regression CAR_i = a + b′z_i + u_i: each event's leave-one-out coefficients (exact, by the
deletion formula), or each *date's* when the standard errors are clustered by date (Cook 1977
for groups of rows). Screening marks, named as conventions, not verdicts: D_i > 4/N,
|DFBETAS_i| > 2/√N.

The rule "one event drives this estimate" (ours, after ``METHODS.md`` §7): event i is named when
removing it moves the estimate by more than its standard error, moves the lead test's p-value
across the report's level α, or flips the sign of an estimate that is significant at α.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .labels import tiled
from .results import CarTable

ALPHA = 0.05  # the level at which a p-value "crosses": the report's 5 %
INFLUENCE_COLUMNS = [
    "group",
    "window",
    "event_id",
    "ticker",
    "car",
    "caar",
    "caar_without",
    "delta",
    "se",
    "cooks_d",
    "dfbetas",
    "share",
    "test",
    "p",
    "p_without",
    "drives",
]


def mean_influence(car: np.ndarray) -> dict[str, np.ndarray]:
    """Leave-one-out diagnostics of the mean of ``car`` (N ≥ 3 values): ``caar_without``,
    ``delta``, ``cooks_d``, ``dfbetas``, ``share`` per value, and the mean's standard error
    ``se`` = s/√N (one number, repeated)."""
    car = np.asarray(car, dtype=float)
    return _each(car, _Moments.of(car))


@dataclass(frozen=True)
class _Moments:
    """What every value's leave-one-out numbers share: N, the mean, s, Σ(x − x̄)² and Σx."""

    n: int
    mean: float
    s: float
    ss: float
    total: float

    @classmethod
    def of(cls, car: np.ndarray) -> _Moments:
        mean = car.mean()
        return cls(len(car), mean, car.std(ddof=1), np.sum((car - mean) ** 2), car.sum())


def _each(x: np.ndarray, m: _Moments) -> dict[str, np.ndarray]:
    """:func:`mean_influence` of the values ``x`` among those of the moments ``m`` (all of them,
    or a piece: each value's numbers are its own)."""
    n, mean, s = m.n, m.mean, m.s
    dev = x - mean
    without = (n * mean - x) / (n - 1)
    # s²_(−i) from the sum of squares without i: Σ(x − x̄_(−i))² = SS − dev_i² · N/(N − 1)
    s_without = np.sqrt(np.maximum(m.ss - dev**2 * n / (n - 1), 0.0) / (n - 2)) if n > 2 else np.full(len(x), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "caar_without": without,
            "delta": mean - without,
            "cooks_d": n * dev**2 / ((n - 1) ** 2 * s**2),
            "dfbetas": (mean - without) / (s_without / np.sqrt(n)),
            "share": x / m.total,
            "se": np.full(len(x), s / np.sqrt(n)),
        }


def drives(estimate, without, se, p, p_without) -> np.ndarray:
    """Whether leaving each event out moves the estimate by more than its standard error
    ``se``, moves its p-value across :data:`ALPHA` (where ``p_without`` is known), or flips the
    sign of an estimate significant at :data:`ALPHA` (the sign of an estimate indistinguishable
    from zero is no finding to overturn; a flip that large is caught by its size)."""
    estimate, without, se, p = (np.asarray(v, dtype=float) for v in (estimate, without, se, p))
    p_without = np.asarray(p_without, dtype=float)
    flips = (np.sign(without) != np.sign(estimate)) & (p < ALPHA)
    moves = np.abs(estimate - without) > se
    crosses = np.isfinite(p_without) & ((p_without < ALPHA) != (p < ALPHA))
    return flips | moves | crosses


def candidates(delta: np.ndarray, flagged: np.ndarray, top: int = 3) -> np.ndarray:
    """The rows whose test is recomputed without them: the ``top`` largest |Δ| and every row
    already flagged by sign or size."""
    size = np.abs(delta)
    size[np.isnan(size)] = -np.inf  # last, as a sort puts NaN
    if top < len(size):  # the top largest, ties to the first (a stable sort's), without sorting all
        edge = np.partition(size, len(size) - top)[len(size) - top]
        above = np.flatnonzero(size > edge)
        order = np.r_[above, np.flatnonzero(size == edge)[: top - len(above)]]
    else:
        order = np.arange(len(size))
    return np.union1d(order, np.flatnonzero(flagged))


@dataclass(frozen=True)
class RegressionInfluence:
    """Per unit left out (an event, or a date with every event on it) and coefficient: the
    coefficient without the unit (``without``: units × K), Cook's distance of the unit, the
    leverage of an event (NaN for a date), and the units' labels."""

    units: pd.Index
    without: np.ndarray
    cooks_d: np.ndarray
    leverage: np.ndarray


def regression_influence(y: np.ndarray, x: np.ndarray, labels: pd.Index, groups: np.ndarray | None = None):
    """Leave-one-out coefficients of the OLS of ``y`` on ``x`` (with its constant), one event
    at a time, or one group of rows at a time when ``groups`` (codes 0..G−1) are given:
    b_(−g) = b − (X′X)⁻¹ X_g′ (I − H_gg)⁻¹ e_g, with Cook's distance
    D_g = (b − b_(−g))′ X′X (b − b_(−g)) / (K s²)."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    n, k = x.shape
    xtx_inv = np.linalg.inv(x.T @ x)
    b = xtx_inv @ x.T @ y
    e = y - x @ b
    s2 = e @ e / (n - k)
    h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    if groups is None:
        change = (xtx_inv @ (x * (e / (1 - h))[:, None]).T).T  # b − b_(−i)
        units, leverage = labels, h
    else:
        g = int(groups.max()) + 1
        change = np.empty((g, k))
        for j in range(g):
            rows = groups == j
            xg = x[rows]
            hgg = xg @ xtx_inv @ xg.T
            change[j] = xtx_inv @ xg.T @ np.linalg.solve(np.eye(len(xg)) - hgg, e[rows])
        units = pd.Index([labels[groups == j][0] for j in range(g)])
        leverage = np.full(g, np.nan)
    cooks = np.einsum("ij,jk,ik->i", change, x.T @ x, change) / (k * s2)
    return RegressionInfluence(units, b[None, :] - change, cooks, leverage)


@dataclass(frozen=True)
class Drafted:
    """One group's leave-one-out diagnostics before the lead test's p is known: its rows' labels
    (group, window, event id, ticker, the test's name), the number columns (:data:`INFLUENCE_COLUMNS`
    from ``car`` to ``p_without``) as one block, columns × rows, with ``p`` and ``p_without`` NaN,
    and each kept window's run of rows (window, first row, number) with its events (rows of the
    table)."""

    group: str
    labels: pd.DataFrame
    block: np.ndarray
    runs: tuple[tuple[int, int, int], ...]
    events: tuple[np.ndarray, ...]


_NUMBERS = INFLUENCE_COLUMNS[4:-4] + ["p", "p_without"]
PIECE = 1 << 16  # values of a window whose diagnostics are worked out at once
_AT = {name: i for i, name in enumerate(_NUMBERS)}


def draft_influence(table: CarTable, lead: str) -> list[Drafted]:
    """Every group's leave-one-out numbers from the CARs of its events (``table``), in windows
    with 3 CARs or more; ``lead``: the test whose p the rows will carry. Needs no test: a
    chunked run drafts them on a thread of its own while its tests are worked out."""
    out = []
    for group, at in table.groups.items():
        values = table.values["car"][at]
        kept = [(j, ok) for j, ok in enumerate(np.isfinite(values).T) if ok.sum() >= 3]
        if not kept:
            continue
        events = tuple(at[ok] for _, ok in kept)
        # each window's numbers written once into one block (no table per window)
        block = np.empty((len(_NUMBERS), sum(len(e) for e in events)))
        block[-2:] = np.nan  # the p and the p without the event: known once the tests are
        runs, start = [], 0
        for (j, ok), rows in zip(kept, events, strict=True):
            x, n = values[ok, j], len(rows)
            m = _Moments.of(x)
            for lo in range(0, n, PIECE):  # a piece at a time: its temporaries stay in cache
                piece = x[lo : lo + PIECE]
                d = _each(piece, m) | {"car": piece, "caar": m.mean}
                for i, c in enumerate(_NUMBERS[:-2]):
                    block[i, start + lo : start + lo + len(piece)] = d[c]
            runs.append((j, start, n))
            start += n
        labels = {
            "group": tiled([group], start),
            "window": _joined([tiled([table.windows[j]], n) for j, _, n in runs]),
            "event_id": _joined([table.event_ids.take(rows) for rows in events]),
            "ticker": _joined([table.tickers.take(rows) for rows in events]),
            "test": tiled([lead], start),
        }
        out.append(Drafted(group, pd.DataFrame(labels), block, tuple(runs), events))
    return out


def _joined(parts: list) -> pd.Series:
    """One column of the parts, window after window (pyarrow's strings joined without a copy)."""
    return pd.concat([pd.Series(p) for p in parts], ignore_index=True)


def caar_influence(
    table: CarTable,
    tests: pd.DataFrame,
    lead: str,
    recompute=None,
    top: int = 1,
    drafted: list[Drafted] | None = None,
) -> pd.DataFrame:
    """Every event's leave-one-out diagnostics in every group and window (:data:`INFLUENCE_COLUMNS`),
    from the CARs of each group's events (``table``; or their numbers already ``drafted`` by
    :func:`draft_influence`) and ``tests`` (the ``lead`` test's p per group and window).
    ``recompute(group, event_id)``, when given, returns the lead test's p per window without that
    event (window label → p); it is asked for the events that move the CAAR by more than its
    standard error or flip the sign of a significant one, and the ``top`` largest |Δ| of each
    window. Groups of fewer than 3 events have no diagnostics."""
    windows, event_ids = table.windows, table.event_ids
    lead_p = tests[tests.test == lead].set_index(["group", "window"]).p
    frames = []
    for draft in draft_influence(table, lead) if drafted is None else drafted:
        block, asked = draft.block, {}
        for (j, start, n), rows in zip(draft.runs, draft.events, strict=True):
            part = block[:, start : start + n]
            p = float(lead_p.get((draft.group, windows[j]), np.nan))
            part[_AT["p"]] = p
            caar, without, se = part[_AT["caar"], 0], part[_AT["caar_without"]], part[_AT["se"]]
            flagged = drives(caar, without, se, p, np.full(n, np.nan))
            for i in candidates(part[_AT["delta"]], flagged, top):
                asked.setdefault(int(rows[i]), set()).add(windows[j])
        split = _AT["p"]
        frame = pd.concat(
            [
                draft.labels.drop(columns="test"),
                pd.DataFrame(block[:split].T, columns=_NUMBERS[:split], copy=False),
                draft.labels[["test"]],
                pd.DataFrame(block[split:].T, columns=_NUMBERS[split:], copy=False),
            ],
            axis=1,
        )
        if recompute is not None:
            every = np.concatenate(draft.events)
            for row in sorted(asked):
                without = recompute(draft.group, event_ids[row])
                hit = (every == row) & frame.window.isin(asked[row]).to_numpy()
                frame.loc[hit, "p_without"] = frame.window[hit].map(without).astype(float).to_numpy()
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=INFLUENCE_COLUMNS)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out["drives"] = drives(out.caar, out.caar_without, out.se, out.p, out.p_without)
    return out  # the columns of INFLUENCE_COLUMNS, in order
