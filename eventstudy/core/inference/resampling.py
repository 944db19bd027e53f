"""The permutation test of a group's portfolio: are the window's days unusual among all the
days of the estimation and event windows?"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..._typing import IntArray
from .statistic import InvalidTestStatistic, Summary, TestStatistic

PERMUTATIONS = 9999  # random draws when there are more subsets than this
SEED = 20250127  # the draws are seeded: the same data give the same p
REJECTION = 0.01  # under this chance that k days drawn with replacement are distinct, draw without replacement


def permutation(s: Summary) -> TestStatistic | InvalidTestStatistic:
    """Permutation test on the group's mean AR per day (AR_pt, the portfolio test's series):
    T = Σ_W AR_pt; the L2 window days and the estimation days are pooled, and T*_b sums L2 of them
    drawn without replacement, every subset when there are at most 9,999, else 9,999 seeded draws
    (the same draws for every group); p = (1 + #{|T*_b| ≥ |T|}) / (1 + B), or the exact share when
    enumerated. The firms move together on every day, so their cross-correlation is kept; an event
    that raises the variance breaks the exchangeability (Nguyen & Wolf 2023)."""
    ar_p, window = s.ar_p, s.window
    pooled_days = (s.est_days | window) & np.isfinite(ar_p)
    if not np.isfinite(ar_p[window]).all():
        return InvalidTestStatistic("permutation", "a window day has no AR", s.n)
    values = ar_p[pooled_days]
    l2 = int(window.sum())
    if len(values) - l2 < 3:
        return InvalidTestStatistic("permutation", "fewer than 3 estimation days", s.n)
    t = ar_p[window].sum()
    draws, exact = subsets(len(values), l2)
    sums = values[draws].sum(axis=1)
    extreme = int(np.sum(np.abs(sums) >= abs(t) - 1e-15 * max(1.0, abs(t))))
    p = extreme / len(sums) if exact else (1 + extreme) / (1 + len(sums))
    how = f"all {len(sums)} subsets" if exact else f"{len(sums)} seeded draws"
    return TestStatistic(
        "permutation", float(t), float(p), "permutation", s.n, detail=f"{how} of {l2} of {len(values)} days"
    )


@functools.lru_cache(maxsize=256)
def subsets(m: int, k: int) -> tuple[IntArray, bool]:
    """Which ``k`` of ``m`` pooled days each draw takes (rows), and whether the rows are every
    subset; drawn once per (m, k) with :data:`SEED` and kept (the data do not enter), as 16-bit
    integers when the days allow (a placebo meets a few hundred (m, k): kept, they take a
    quarter of the memory; drawing them again was most of the test's time). A row is k days drawn
    with replacement and drawn again while it repeats a day, unless k distinct days come up with
    a chance under :data:`REJECTION` (128 of 328 days: 3e-13, which never ended): then each row is
    drawn without replacement directly."""
    small = np.uint16 if m <= np.iinfo(np.uint16).max else np.int64
    if math.comb(m, k) <= PERMUTATIONS:
        from itertools import combinations

        return np.array(list(combinations(range(m), k)), dtype=small), True
    rng = np.random.default_rng(SEED)
    if np.exp(np.log1p(-np.arange(k) / m).sum()) < REJECTION:  # a long window among few days: redrawing rows
        rows = np.stack([rng.choice(m, k, replace=False) for _ in range(PERMUTATIONS)])  # would all but never end
        return rows.astype(small), False
    rows = rng.integers(0, m, (PERMUTATIONS, k))
    pending = np.arange(PERMUTATIONS)  # the rows not yet known to hold k distinct days
    while True:  # a row that drew a day twice is drawn again: k distinct days, without replacement
        pending = pending[_repeats(rows[pending])]  # only rows drawn again can have a repeat
        if not len(pending):
            return rows.astype(small), False
        rows[pending] = rng.integers(0, m, (len(pending), k))


def _repeats(rows: IntArray) -> np.ndarray:
    """Which rows hold a value twice: by comparing each pair of columns when the rows are short
    (k(k − 1)/2 vector comparisons), else by sorting each row."""
    k = rows.shape[1]
    if k > 16:
        ordered = np.sort(rows, axis=1)
        return (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    cols = np.ascontiguousarray(rows.T)
    out = np.zeros(len(rows), bool)
    for i in range(k - 1):
        for j in range(i + 1, k):
            out |= cols[i] == cols[j]
    return out
