"""Each firm-event's ranks over the grid in the second pass: Corrado's standardized ranks of its ARs
and, for GRANK, the ranks of its SARs among its estimation days, from one sort of each row (its
values' single-precision sort keys; the compiled loops make the keys and place the ranks where
they were built, from 32-bit keys first where a row has at most 512 values), with rows that hold
near-ties ranked again the long way."""

from __future__ import annotations

import numpy as np

from ..._typing import Float64Array, IntArray
from ..inference.rank import row_ranks
from . import kernel
from .first_pass import Fit
from .plan import Plan


def sars(plan: Plan, fit: Fit, rows=slice(None)) -> Float64Array:
    """SAR_it = ε̂_it / σ̂_i on the estimation days (of the firm-events ``rows``)."""
    return fit.ar[rows, plan.est_slice] / np.sqrt(fit.sigma2[rows])[:, None]  # NaN on days that are not valid


KEY_OF_INF = 0xFF800000  # the sort key of +inf in single precision


def sort_keys(values: Float64Array) -> np.ndarray:
    """Each row's 64-bit sort keys, sorted: the single-precision value's bits made to order as the
    values do (the sign bit flipped, or every bit when negative; −0 counted as +0) in the high
    half, the column in the low. Sorting these is several times faster than an argsort (numpy
    sorts unsigned integers with SIMD); equal high halves are equal single-precision values."""
    single = values.astype(np.float32)
    single += np.float32(0.0)  # −0 becomes +0
    signed = single.view(np.int32)
    flip = signed >> 31  # all ones where negative (an arithmetic shift)
    flip |= np.int32(-(2**31))
    signed ^= flip
    keys = signed.view(np.uint32).astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(values.shape[1], dtype=np.uint64)
    keys.sort(axis=1)
    return keys


def sorted_rows(values: Float64Array) -> tuple[IntArray, np.ndarray]:
    """Each row's order (argsort) and its values' sort keys (:func:`sort_keys`) in that order."""
    keys = sort_keys(values)
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.intp), (keys >> np.uint64(32)).astype(np.uint32)


def _standardized(ranks, valid) -> Float64Array:
    """Corrado's U of each row's ``ranks``: rank × 1 / (1 + the row's valid values), zero where not
    valid. A product by the row's one reciprocal, as the compiled loop works it out: the quotients,
    before, took it a division for each value of every row whose number of valid values differed
    from the last row's (a third of its time); they differ from the products in the last bit at
    most."""
    return np.where(valid, ranks * (1.0 / (1.0 + valid.sum(axis=1, keepdims=True))), 0.0)


CODE_COLUMNS = 512  # the most columns a row's 32-bit keys (the compiled ``row_codes``) name
CODE_MISSING = 0x7FFFFF  # their code of a value that is not finite


def _compiled_ranks(ar: Float64Array, est_at: IntArray, width: int, narrow: bool):
    """The compiled loops' standardized ranks, GRANK's ranks (``width`` columns) and near-ties of
    the rows of ``ar``: from 32-bit keys (``narrow``: ``row_codes``, each value's place on its
    row's range in 2²³ − 1 steps, the column in 9 bits; a near-tie is two values of one code, about
    one row in 150 of normal ARs), else from :func:`sort_keys`' 64-bit ones (``row_keys``). numpy
    sorts 32-bit keys in about 0.5 µs a row of 261, 64-bit ones in 0.9."""
    n, g = ar.shape
    u, rank, near = np.empty((n, g)), np.empty((n, width)), np.zeros(n, bool)
    keys = np.empty((n, g), np.uint32 if narrow else np.uint64)
    kernel.compiled("row_codes" if narrow else "row_keys")(ar, keys)  # unsorted, missing last
    keys.sort(axis=1)
    if narrow:  # a value's code is missing exactly where it is not finite
        kernel.compiled("place_codes")(keys, est_at, np.uint32(CODE_MISSING), u, rank, near)
    else:
        kernel.compiled("place_ranks")(keys, np.isfinite(ar), est_at, np.uint32(KEY_OF_INF), u, rank, near)
    return u, rank, near


def grid_ranks(plan: Plan, fit: Fit, sar: Float64Array | None = None) -> tuple[Float64Array, Float64Array | None]:
    """Each firm-event's standardized ranks of its ARs over the grid (Corrado's U; zero where there
    is no AR, as the sums add them), and, when GRANK is among the tests, the ranks of its SARs
    among its estimation days (zero where there is no SAR), from one sort of
    each row (in single precision, whose order is the double-precision order where no two values
    of a row round to the same single): an estimation day's rank among the estimation days is the
    count of estimation days at or before it in the row's order. A row with a tie or a near-tie
    (two values equal in single precision) is ranked again the long way, ties sharing their mean
    rank, as :func:`eventstudy.core.inference.rank.row_ranks` ranks them (the SARs ``sar``, when
    the caller has them; else :func:`sars`). The compiled loops sort 32-bit keys first
    (:func:`_compiled_ranks`) and rank the rows where two values share a code again from these
    64-bit keys: the ranks are the same, as a row whose codes all differ has them in its values'
    double-precision order, with no tie."""
    ar = fit.ar
    n, g = ar.shape
    grank = "grank" in plan.tests
    if plan.kernel:
        est_at = np.full(g, -1, np.int64)
        est_at[plan.est_cols] = np.arange(len(plan.est_cols))
        width = len(plan.est_cols) if grank else 0
        narrow = g <= CODE_COLUMNS
        u, rank, near = _compiled_ranks(ar, est_at, width, narrow)
        if narrow and near.any():  # rows with two values of one code: from their 64-bit keys, as numpy's steps
            redo = np.flatnonzero(near)
            u[redo], rank[redo], near[redo] = _compiled_ranks(ar[redo], est_at, width, False)
        rank = rank if grank else None
    else:
        valid = np.isfinite(ar)
        order, ordered = sorted_rows(np.where(valid, ar, np.inf))
        missing = np.uint32(KEY_OF_INF)
        near = ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != missing)).any(axis=1)
        code = np.broadcast_to(np.arange(1, g + 1, dtype=np.int64), (n, g))
        if grank:
            is_est = np.zeros(g, bool)
            is_est[plan.est_cols] = True
            code = code + (np.cumsum(is_est[order] & (ordered != missing), axis=1, dtype=np.int64) << 32)
        placed = np.empty((n, g), np.int64)
        np.put_along_axis(placed, order, code, axis=1)
        u = _standardized(placed & 0xFFFFFFFF, valid)
        rank = None
        if grank:  # C-ordered as the compiled loop's, which the sums read
            rank = np.where(valid[:, plan.est_cols], placed[:, plan.est_cols] >> 32, 0).astype(np.float64, order="C")
    if near.any():
        near = np.flatnonzero(near)  # a few rows: their SARs only, when the caller has none
        valid = np.isfinite(ar[near])
        u[near] = _standardized(row_ranks(np.where(valid, ar[near], np.nan)), valid)
        if grank:
            of_near = sars(plan, fit, near) if sar is None else sar[near]
            rank[near] = np.where(valid[:, plan.est_cols], row_ranks(of_near), 0.0)
    return u, rank
