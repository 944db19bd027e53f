"""The streamed passes' heaviest loops compiled with numba, when it is installed
(``pip install "eventstudy-workbench[fast]"``) and the work is large enough to pay for loading
them: the first pass's running sums of every estimation window (:func:`estimation_sums`), and
the second pass's ARs on the grid (:func:`grid_residuals`), each row's sort keys
(:func:`row_keys`; numpy sorts them) and the ranks from their order (:func:`place_ranks`),
GRANK's comparisons of each row's SARs with its SCAR* and their weighted sums over the rows
(:func:`compare_rows`), and r̄'s standardized rows (:func:`standardized_rows`) and their sums by
calendar position (:func:`position_sums`).

Each does the numpy steps' arithmetic in their order (the same products, the running sums added
session after session, integer ranks and counts, the same one division, each row's sums in
numpy's pairwise order, each position's rows as scipy's sparse product adds them), so the
compiled loops and the numpy steps they stand in for
(:func:`eventstudy.core.stream.first_pass.window_sums` and ``abnormal``,
:func:`eventstudy.core.stream.second_pass._ranks`, ``_compare``, ``_zero_filled_rows`` and
``_RbarSums.add``) give the same bits: which one runs changes the time, never a number
(tests/core/test_kernel.py holds them to it). Sums whose order BLAS chooses (GRANK's per-day
sums of the SARs' ranks, the windows' sums over firm-events) stay numpy's.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Callable

import numpy as np

KERNEL_EVENTS = 50_000
"""Firm-events (in one run, or in a placebo's draws together) from which the compiled loops are
used. Loading them costs about 0.35 s a process (importing numba and reading the loops from its
cache; compiling them the first time on a machine takes a few seconds more, once; most of it now
on a thread of its own while the firm-events are placed, :func:`load_aside`); a streamed run
on two threads in a fresh process (``benchmarks/bench_large.py``'s panel, the loops forced on and
off, alternated) took 0.05–0.15 s longer with them at 20,000 and 35,000 firm-events, 0.05–0.15 s
less at 50,000 and 0.2–0.3 s less at 80,000 (1.19–1.28 s against 1.46 s)."""


def available() -> bool:
    return importlib.util.find_spec("numba") is not None


def wanted(n_events: int, runs: int = 1) -> bool:
    """Whether ``runs`` streamed runs of ``n_events`` firm-events each (a placebo's draws, say) are
    worth the compiled loops: enough firm-events in all, and numba installed."""
    return n_events * runs >= KERNEL_EVENTS and available()


_READY = threading.Event()
_LOADING = threading.Lock()


def load() -> None:
    """Import numba and set up its compiler: most of the 0.2–0.25 s the first compiled call of a
    process takes (numba fills its registries of types then), whichever loop it is; here on one
    value of the helper every row sum calls. Once a process: later calls return at once (each loop
    then costs only reading it from numba's cache at its first call, a few ms)."""
    with _LOADING:
        if not _READY.is_set():
            compiled("_block_sum")(np.zeros(1), 0, 1, False)
            _READY.set()


@functools.cache
def load_aside() -> threading.Thread:
    """:func:`load` on a thread of its own, started once a process, while the caller goes on (the
    streamed engine places its firm-events meanwhile; its passes then call :func:`load`, which
    waits for this thread, or tries again and raises what went wrong)."""
    thread = threading.Thread(target=_try_load, name="eventstudy-numba")
    thread.start()
    return thread


def _try_load() -> None:
    try:
        load()
    except Exception:  # noqa: BLE001 — load() called again before the passes raises it there
        return


def required(compiled: bool) -> bool:
    """``compiled`` as asked for by name (``run_event_study(compiled=...)``): True needs numba."""
    if compiled and not available():
        raise ImportError("compiled=True needs numba: pip install 'eventstudy-workbench[fast]', or leave compiled=None")
    return bool(compiled)


_LOW, _HIGH = np.uint64(0xFFFFFFFF), np.uint64(32)  # a sort key's column (low half) and value (high half)
_SIGN = np.uint64(0x80000000)


def row_keys(ar: np.ndarray, keys: np.ndarray) -> None:
    """Into ``keys`` each value's 64-bit sort key, unsorted, as
    :func:`eventstudy.core.stream.second_pass._sort_keys` makes them before its sort: the value
    in single precision (+inf where not finite, −0 made +0), its bits made to order as the values
    do (every bit flipped when negative, else the sign bit set) in the high half, the column in
    the low; in one pass instead of numpy's ten. Loops, for numba."""
    n, g = ar.shape
    single = np.empty(g, np.float32)
    bits = single.view(np.uint32)
    for i in range(n):
        for c in range(g):
            v = ar[i, c]
            single[c] = (np.float32(v) if np.isfinite(v) else np.float32(np.inf)) + np.float32(0.0)
        for c in range(g):
            b = np.uint64(bits[c])
            key = b ^ _LOW if b & _SIGN else b | _SIGN
            keys[i, c] = (key << _HIGH) | np.uint64(c)


def place_ranks(
    keys: np.ndarray,
    valid: np.ndarray,
    est_at: np.ndarray,
    missing: np.uint32,
    u: np.ndarray,
    rank: np.ndarray,
    near: np.ndarray,
) -> None:
    """From each row's sorted keys (``keys``: a value's key in the high 32 bits, its column in the
    low, ascending; :func:`eventstudy.core.stream.second_pass._sort_keys`): its standardized ranks
    ``u`` (rank / (1 + the row's valid values), zero where not ``valid``); in ``rank``, when it has
    columns, each estimation day's rank among the row's estimation days with a key (``est_at``: a
    column's estimation day, or −1; zero where not ``valid``); and ``near``: whether two keys of
    the row other than ``missing`` are equal. A row's valid values are counted in an integer (a
    floating-point count is a chain of dependent additions, which took a third of the loop) and
    its g standardized ranks p / (1 + that count) divided first, in a loop of their own
    (vectorized), then placed at their columns. Loops, for numba."""
    n, g = keys.shape
    grank = rank.shape[1] > 0
    standardized = np.empty(g)
    for i in range(n):
        n_valid = 0
        for c in range(g):
            n_valid += valid[i, c]
        denom = 1.0 + n_valid
        for p in range(g):
            standardized[p] = (p + 1.0) / denom
        count = 0
        last = missing
        for p in range(g):
            col = np.intp(keys[i, p] & _LOW)
            key = keys[i, p] >> _HIGH
            if p and key == last and key != missing:
                near[i] = True
            last = key
            u[i, col] = standardized[p] if valid[i, col] else 0.0
            if grank and est_at[col] >= 0:
                if key != missing:
                    count += 1
                rank[i, est_at[col]] = count if valid[i, col] else 0.0


def estimation_sums(
    valid: np.ndarray,
    x0: np.ndarray,
    y: np.ndarray,
    shift: np.ndarray,
    set_aside: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    cols: np.ndarray,
    pairs: np.ndarray,
    out: np.ndarray,
) -> None:
    """Into ``out`` (events × moments, zero): Σ over the sessions [start, stop) of the firm
    ``col``'s moments — 1, x, x_i·x_j (``pairs``), y − shift, (y − shift)·x, (y − shift)², each
    where ``valid`` (zero elsewhere), and 1 where a return is ``set_aside`` — as S[stop] −
    S[start] of the running sums S, added session after session. Loops, for numba."""
    t, f = y.shape
    k1 = x0.shape[1]
    k, n_pairs, n = k1 + 1, len(pairs), len(cols)
    iy = k + n_pairs
    running = np.zeros((out.shape[1], f))
    by_start, by_stop = np.argsort(starts, kind="mergesort"), np.argsort(stops, kind="mergesort")
    ps = pe = 0
    while ps < n and starts[by_start[ps]] <= 0:  # S[0] is zero
        ps += 1
    while pe < n and stops[by_stop[pe]] <= 0:
        pe += 1
    w, yc = np.empty(f), np.empty(f)
    for r in range(t):
        for c in range(f):
            ok = valid[r, c]
            w[c] = 1.0 if ok else 0.0
            yc[c] = y[r, c] - shift[c] if ok else 0.0
            running[0, c] += w[c]
            running[iy, c] += yc[c]
            running[iy + k, c] += yc[c] * yc[c]
            running[iy + k + 1, c] += 1.0 if set_aside[r, c] else 0.0
        for i in range(k1):
            xi = x0[r, i]
            for c in range(f):
                running[1 + i, c] += w[c] * xi
                running[iy + 1 + i, c] += yc[c] * xi
        for p in range(n_pairs):
            product = x0[r, pairs[p, 0]] * x0[r, pairs[p, 1]]
            for c in range(f):
                running[k + p, c] += w[c] * product
        while ps < n and starts[by_start[ps]] == r + 1:  # S[r + 1] is the running sums now
            e = by_start[ps]
            for m in range(out.shape[1]):
                out[e, m] += -1.0 * running[m, cols[e]]
            ps += 1
        while pe < n and stops[by_stop[pe]] == r + 1:
            e = by_stop[pe]
            for m in range(out.shape[1]):
                out[e, m] += running[m, cols[e]]
            pe += 1


def grid_residuals(
    y: np.ndarray,
    valid: np.ndarray,
    x: np.ndarray,
    pos: np.ndarray,
    cols: np.ndarray,
    grid: np.ndarray,
    in_est: np.ndarray,
    shift: np.ndarray,
    x_mean: np.ndarray,
    theta: np.ndarray,
    estimated: bool,
    ar: np.ndarray,
    ok: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Each firm-event's (firm ``cols[e]``, session ``pos[e]``) AR on every relative day of
    ``grid``: y − shift − θ₀ − Σ θ_i (x_i − x̄_i) (y − shift alone when not ``estimated``), NaN
    outside the data (``y``: firms × sessions) and on estimation days (``in_est``) that are not
    ``valid``; ``ok``: the estimation days that are; ``counts`` (events × 2): how many they are,
    and how many of them have an AR above zero. Loops, for numba."""
    n, g = ar.shape
    t, k1 = y.shape[1], x.shape[1]
    for e in range(n):
        c = cols[e]
        for d in range(g):
            at = pos[e] + grid[d]
            good = False
            value = np.nan
            if 0 <= at < t:
                value = y[c, at] - shift[c]
                if estimated:
                    value = value - theta[e, 0]
                    for i in range(k1):
                        value -= theta[e, 1 + i] * (x[at, i] - x_mean[i])
                good = in_est[d] and valid[c, at]
            if in_est[d] and not good:
                value = np.nan
            ar[e, d] = value
            ok[e, d] = good
        n_ok = n_up = 0
        for d in range(g):  # a loop of its own: the one above stays free of the counts' branches
            n_ok += ok[e, d]
            n_up += ok[e, d] & (ar[e, d] > 0)
        counts[e, 0], counts[e, 1] = n_ok, n_up


def compare_rows(
    values: np.ndarray,
    rows: np.ndarray,
    bar: np.ndarray,
    weight: np.ndarray,
    total: np.ndarray,
    above: np.ndarray,
    tied: np.ndarray,
) -> None:
    """Row ``rows[a]`` of ``values`` against ``bar[a]``: 1 where above, ½ where equal, 0 elsewhere
    (NaN included), times ``weight[a]``, added into ``total`` (zero) row after row, and each row's
    counts ``above[a]`` and ``tied[a]``. Without a branch on the comparisons (they come out either
    way as often): adding a zero leaves a sum of non-negative values as it was. Loops, for numba."""
    for a in range(len(rows)):
        i, b, w = rows[a], bar[a], weight[a]
        n_above = n_tied = 0
        for d in range(values.shape[1]):
            s = values[i, d]
            up, equal = s > b, s == b
            n_above += up
            n_tied += equal
            total[d] += w * (1.0 if up else (0.5 if equal else 0.0))
        above[a], tied[a] = n_above, n_tied


def standardized_rows(ar: np.ndarray, lo: int, hi: int, z: np.ndarray, w: np.ndarray, ok: np.ndarray) -> None:
    """r̄'s standardized rows of the residuals ``ar[:, lo:hi]`` (NaN where not valid), as
    :func:`eventstudy.core.stream.second_pass._zero_filled_rows` makes them: ``z`` each row demeaned
    over its valid days and scaled to unit length (zero elsewhere), ``w`` its valid days' indicators
    over √(their number), ``ok`` the rows that count (3 days or more, some variance); rows that
    do not count are zero. The sums are numpy's pairwise sums (:func:`pairwise_sum`). Loops, for numba."""
    n, length = ar.shape[0], hi - lo
    frames, left = np.empty((64, 3), np.int64), np.empty(64)  # pairwise_sum's stack
    finite = np.empty(length, np.bool_)  # the row's valid days, found once
    for r in range(n):
        count = 0
        for d in range(length):
            v = ar[r, lo + d]
            finite[d] = np.isfinite(v)
            z[r, d] = v if finite[d] else 0.0
            count += finite[d]
        mean = (0.0 + pairwise_sum(z[r], 0, length, False, frames, left)) / max(count, 1)
        for d in range(length):
            if finite[d]:
                z[r, d] = z[r, d] - mean
            else:
                z[r, d] = (z[r, d] - mean) * 0.0  # numpy's z × valid: a zero with the sign it gives
        norm = np.sqrt(0.0 + pairwise_sum(z[r], 0, length, True, frames, left))
        good = count >= 3 and norm > 0
        scale = 1.0 / norm if good else 0.0
        weight = 1.0 / np.sqrt(np.float64(count)) if good else 0.0
        for d in range(length):
            z[r, d] = z[r, d] * scale
            w[r, d] = (1.0 if finite[d] else 0.0) * weight
        ok[r] = good


def pairwise_sum(a: np.ndarray, lo: int, n: int, squares: bool, frames: np.ndarray, left: np.ndarray) -> float:
    """Σ a[lo:lo + n] (of the squares when ``squares``) in numpy's order: its pairwise summation of
    a contiguous row (``pairwise_sum`` in numpy's ``loops_utils.h``): up to 128 values as
    :func:`_block_sum` adds them, more split in two at a multiple of 8, each half summed so and
    the two added. numpy recurses; here a stack does (``frames``: lo, n and the step reached of
    each pending split, ``left``: its first half's sum; 64 rows are more than any length needs),
    since numba cannot cache a recursive loop; where one split leaves halves of 128 values or
    fewer, the two are summed straight away (the stack's bookkeeping took a third of the time).
    A reduction adds the result to 0.0 (``np.add.reduce``'s start), which its callers do. Loops,
    for numba."""
    if n <= 128:
        return _block_sum(a, lo, n, squares)
    half = n // 2
    half -= half % 8
    if n - half <= 128:  # one split (an estimation window's length, most often): no stack needed
        return _block_sum(a, lo, half, squares) + _block_sum(a, lo + half, n - half, squares)
    depth = 0
    frames[0, 0], frames[0, 1], frames[0, 2] = lo, n, 0
    value = 0.0
    while True:
        at, size, step = frames[depth, 0], frames[depth, 1], frames[depth, 2]
        half = size // 2
        half -= half % 8
        if step == 2:  # both halves summed
            value = left[depth] + value
            if depth == 0:
                return value
            depth -= 1
            continue
        if step == 0:
            child, length = at, half
        else:
            left[depth] = value
            child, length = at + half, size - half
        frames[depth, 2] = step + 1
        if length <= 128:
            value = _block_sum(a, child, length, squares)
        else:
            depth += 1
            frames[depth, 0], frames[depth, 1], frames[depth, 2] = child, length, 0


def _block_sum(a: np.ndarray, lo: int, n: int, squares: bool) -> float:
    """numpy's sum of at most 128 values: fewer than 8 one after another from 0.0, else 8 running
    sums added as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)) and the rest one after another."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += _value(a, i, squares)
        return res
    # numpy starts the 8 sums at the first 8 values; from 0.0 they differ at most in the sign of a
    # zero sum, which the reduction's 0.0 + result takes away
    r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = 0.0
    i = 0
    while i < n - n % 8:
        at = lo + i
        r0 += _value(a, at, squares)
        r1 += _value(a, at + 1, squares)
        r2 += _value(a, at + 2, squares)
        r3 += _value(a, at + 3, squares)
        r4 += _value(a, at + 4, squares)
        r5 += _value(a, at + 5, squares)
        r6 += _value(a, at + 6, squares)
        r7 += _value(a, at + 7, squares)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += _value(a, lo + i, squares)
        i += 1
    return res


def _value(a: np.ndarray, i: int, squares: bool) -> float:
    return a[i] * a[i] if squares else a[i]


def position_sums(
    z: np.ndarray,
    w: np.ndarray,
    order: np.ndarray,
    pos: np.ndarray,
    sum_z: np.ndarray,
    sum_w: np.ndarray,
    at: np.ndarray,
) -> None:
    """Into ``sum_z``, ``sum_w`` and ``at`` at each calendar position: the rows ``order`` of ``z``
    and ``w`` (sorted by their position ``pos``, each position's rows in ascending order) added
    up, and their number, as the sparse products of
    :meth:`eventstudy.core.stream.second_pass._RbarSums.add` do: each position's rows summed
    from zero one after another, then added to what the position holds. Loops, for numba."""
    length = z.shape[1]
    tz, tw = np.empty(length), np.empty(length)
    i = 0
    while i < len(order):
        p = pos[order[i]]
        tz[:] = 0.0
        tw[:] = 0.0
        j = i
        while j < len(order) and pos[order[j]] == p:
            for d in range(length):
                tz[d] += z[order[j], d]
                tw[d] += w[order[j], d]
            j += 1
        for d in range(length):
            sum_z[p, d] = sum_z[p, d] + tz[d]
            sum_w[p, d] = sum_w[p, d] + tw[d]
        at[p] = at[p] + np.float64(j - i)
        i = j


_HELPERS = ("_value", "_block_sum", "pairwise_sum")  # called by the loops: compiled first, in their place here


@functools.cache
def compiled(name: str) -> Callable[..., None]:
    """The loop ``name`` of this module compiled (nogil: the stream's threads run it side by side)
    for the types and layouts of its first call's arrays, and again for any other (the callers
    hand it C-ordered arrays: one compilation serves), each cached on disk by numba (beside this
    file, else in the user's cache folder, or where ``NUMBA_CACHE_DIR`` says)."""
    import numba

    for helper in _HELPERS:
        if not isinstance(globals()[helper], numba.core.dispatcher.Dispatcher):
            globals()[helper] = _jit(numba, globals()[helper])
    loop = globals()[name]
    return loop if name in _HELPERS else _jit(numba, loop)


def _jit(numba, loop: Callable) -> Callable:
    try:
        return numba.njit(cache=True, nogil=True)(loop)
    except RuntimeError:  # no folder to cache in (a read-only install, no user cache): compiled each run
        return numba.njit(nogil=True)(loop)
