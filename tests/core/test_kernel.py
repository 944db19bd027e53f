"""The compiled loops of the streamed passes (eventstudy.core.stream.kernel, the C extension
_loops) against the numpy steps they stand in for: the same bits, loop by loop and for whole
results, so a machine where they were not built (the numpy path) gets the numbers of one where they
were. Where they were not built these tests are skipped, unless EVENTSTUDY_COMPILED_TEST=required
(as .ci/run sets): then they fail."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from eventstudy.core.engine import run_event_study
from eventstudy.core.stream import kernel
from eventstudy.core.stream.first_pass import _moments, firm_shift, window_sums
from eventstudy.core.stream.ranks import grid_ranks, sort_keys
from eventstudy.core.stream.second_pass import (
    BLOCK,
    ByPosition,
    Partial,
    _calendar_sums,
    _compare,
    _RbarSums,
    _zero_filled_rows,
    group_window_sums,
)
from eventstudy.core.windows import Window

from .test_stream import KW, earnings

if not kernel.available():
    if os.environ.get("EVENTSTUDY_COMPILED_TEST") == "required":
        raise ImportError(kernel.MISSING)
    pytest.skip("the compiled loops were not built (no C compiler at install)", allow_module_level=True)


def same_bits(a, b) -> None:
    """Equal arrays, bit for bit (NaN and the sign of zero included)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes()


def awkward_rows(seed=0, n=300, g=40):
    """ARs with what ranking must survive: missing values and whole missing rows, exact ties,
    near-ties (equal in single precision), a value past single precision's range, −0."""
    rng = np.random.default_rng(seed)
    ar = rng.standard_normal((n, g))
    ar[rng.random((n, g)) < 0.05] = np.nan
    ar[3, 5] = ar[3, 9]
    ar[4, 1] = ar[4, 2] * (1 + 1e-12)
    ar[5] = np.nan
    ar[6, 0] = 1e300
    ar[7, :3] = [0.0, -0.0, 0.0]
    ar[8] = np.round(ar[8], 1)  # many ties
    ar[10, :2] = [1e308, -1e308]  # a range past the largest float64
    ar[11] = 0.25  # one value throughout
    ar[12, 1] = ar[12, 2] + 1e-9  # apart, but closer than a step of the row's range in 2**23
    ar[13, :] = np.nan
    ar[13, 4] = 2.0  # one value
    return ar


@pytest.mark.parametrize("g", [40, 600])  # 32-bit keys (row_codes) up to 512 columns, 64-bit beyond
@pytest.mark.parametrize("tests", [("grank",), ()])
def test_ranks_from_the_compiled_loop_are_numpys(tests, g):
    ar = awkward_rows(g=g)
    fit = SimpleNamespace(ar=ar, sigma2=np.full(len(ar), 0.5))
    plans = [SimpleNamespace(tests=tests, est_cols=np.arange(30), est_slice=slice(0, 30), kernel=k) for k in (0, 1)]
    with np.errstate(over="ignore"):
        (u0, r0), (u1, r1) = (grid_ranks(p, fit) for p in plans)
    same_bits(u0, u1)
    if tests:
        same_bits(r0, r1)
    else:
        assert r0 is None and r1 is None


def test_sort_keys_from_the_compiled_loop_are_numpys():
    """Each value's sort key as numpy's steps make it: missing values (+inf), −0 and +0, values
    beyond single precision (to ±inf), values that round to the same single, signs."""
    ar = awkward_rows()
    ar[9, :6] = [np.inf, -np.inf, -1e300, 1e-320, -1e-320, -0.0]
    keys = np.empty(ar.shape, np.uint64)
    kernel.compiled("row_keys")(ar, keys)
    keys.sort(axis=1)
    with np.errstate(over="ignore"):
        same_bits(keys, sort_keys(np.where(np.isfinite(ar), ar, np.inf)))


def test_32_bit_keys_keep_each_rows_order_and_put_missing_values_last():
    """row_codes: each value's code is its place on the row's range of finite values in 2**23 − 1
    steps, in the high 23 bits, its column in the low 9: values in order have codes in order (equal
    ones only when closer than a step, then ranked again from 64-bit keys), equal values equal
    codes, values that are not finite the largest code; a row with no two distinct values, or
    whose range is past the largest float64, shares codes (and is ranked again)."""
    ar = awkward_rows(n=60, g=300)
    ar[14, :4] = [np.inf, -np.inf, 5e-324, -5e-324]
    keys = np.empty(ar.shape, np.uint32)
    kernel.compiled("row_codes")(ar, keys)
    codes, cols = keys >> 9, keys & 511
    assert (cols == np.arange(300)).all()
    finite = np.isfinite(ar)
    assert (codes[~finite] == 0x7FFFFF).all() and (codes[finite] <= 0x7FFFFE).all()
    for i in range(len(ar)):
        v, c = ar[i, finite[i]], codes[i, finite[i]].astype(np.int64)
        order = np.argsort(v, kind="stable")
        assert (np.diff(c[order]) >= 0).all()  # the values' order kept
        with np.errstate(over="ignore"):  # row 10's range is past the largest float64
            span = np.ptp(v) if len(v) else 0.0
        if span > 0 and np.isfinite(span):
            assert c.min() == 0 and c.max() >= 0x7FFFFE - 1
            step = span / 0x7FFFFE
            apart = np.abs(v[:, None] - v[None, :]) > 2 * step
            assert (c[:, None] != c[None, :])[apart].all()  # values two steps apart never share a code
        else:  # one value, or a range past the largest float64: codes shared, so ranked again
            assert len(v) < 2 or len(np.unique(c)) < len(v)
    assert codes[3, 5] == codes[3, 9] and codes[12, 1] == codes[12, 2]
    with pytest.raises(ValueError, match="more columns than a 32-bit key names"):
        kernel.compiled("row_codes")(np.zeros((2, 513)), np.empty((2, 513), np.uint32))
    with pytest.raises(TypeError, match="keys must be a 2-dimensional array of uint32"):
        kernel.compiled("row_codes")(ar, np.empty(ar.shape, np.uint64))  # 64-bit keys are row_keys'


@pytest.mark.parametrize("every", [True, False])
def test_sars_against_scar_from_the_compiled_loop_are_numpys(every):
    """GRANK's comparisons of each row's SARs (its ARs on the estimation days over σ̂) with its
    SCAR* of each window and group, compiled and numpy's, and as a loop adds them: ties with SCAR*,
    missing SARs and a missing SCAR*, days outside the estimation window, rows no window or group
    takes (all taken, or some)."""
    rng = np.random.default_rng(2)
    n, lo, days = 200, 3, 30
    sigma2 = rng.uniform(0.5, 2.0, n)
    sar = np.round(rng.standard_normal((n, days)), 1)  # ties with SCAR* too
    sar[rng.random(sar.shape) < 0.05] = np.nan
    ar = np.full((n, lo + days + 4), 7.0)  # not estimation days: never read
    ar[:, lo : lo + days] = sar * np.sqrt(sigma2)[:, None]
    fit = SimpleNamespace(ar=ar, sigma2=sigma2)
    plans = [
        SimpleNamespace(kernel=k, est_cols=np.arange(lo, lo + days), est_slice=slice(lo, lo + days)) for k in (0, 1)
    ]
    take = np.ones((n, 2, 3), bool) if every else rng.random((n, 2, 3)) < 0.6
    bar = np.round(rng.standard_normal((n, 2, 3)), 1)
    bar[0] = np.nan
    weight = 1.0 / rng.integers(20, 40, n)
    numpy_path, compiled = (_compare(p, fit, None, take, bar, weight) for p in plans)
    for a, b in zip(numpy_path, compiled, strict=True):
        same_bits(a, b)
    assert (compiled[2] > 0).any()  # ties were there to be counted
    # the sums, row after row in their order, as a loop adds them, from the SARs as numpy works them out
    sars = ar[:, lo : lo + days] / np.sqrt(sigma2)[:, None]
    for j in range(2):
        for g in range(3):
            total = np.zeros(days)
            for i in np.flatnonzero(take[:, j, g]):
                up = np.where(sars[i] > bar[i, j, g], 1.0, np.where(sars[i] == bar[i, j, g], 0.5, 0.0))
                total = total + weight[i] * up
                assert compiled[1][i, j, g] == (sars[i] > bar[i, j, g]).sum()
            same_bits(compiled[0][j, g], total)
            assert not compiled[1][~take[:, j, g], j, g].any()


@pytest.mark.parametrize(("k1", "f"), [(0, 7), (1, 7), (2, 7), (3, 7), (9, 7), (1, 1)])
def test_running_sums_from_the_compiled_loop_are_numpys(k1, f):
    """estimation_sums against the numpy steps (the valid days, firm_shift, window_sums over the
    first pass's moments): the valid days it writes (y and x finite, not set aside, as Local.of
    finds them without the loop), every firm's shift and every look-up, windows starting at the
    first session and ending at the last, empty windows, days set aside, a return set aside that
    is missing, sessions without the regressors, a firm without days set aside, a firm without
    events, one firm alone; the models whose sums the loop keeps in registers (0, 1 and 3
    regressors), another, and one with more moments (67) than it keeps on the stack."""
    rng = np.random.default_rng(k1 + f)
    t, n = 300, 60
    returns = np.asfortranarray(rng.standard_normal((t, f)) * 0.02)
    returns[rng.random((t, f)) < 0.05] = np.nan
    y = returns - 0.0001  # the excess returns
    x = rng.standard_normal((t, k1)) * 0.01
    x[rng.random(t) < 0.03] = np.nan  # sessions without the regressors (none without one: the mean model)
    x_ok = np.isfinite(x).all(axis=1)
    x = np.where(x_ok[:, None], x, 0.0)  # centred, zero where missing, as the first pass hands them
    blocked = np.asfortranarray(rng.random((t, f)) < 0.1)
    blocked[:, 0] = f == 1  # of several firms, the first has no day set aside (its sums skip the flags)
    valid = np.isfinite(y) & x_ok[:, None] & ~blocked
    assert valid.flags.f_contiguous
    starts = rng.integers(0, t, n)
    stops = np.minimum(starts + rng.integers(0, 120, n), t)
    starts[:3], stops[3:6], stops[6] = 0, t, starts[6]
    cols = rng.integers(0, max(f - 1, 1), n)  # the last of several firms has no event
    pairs = [(i, j) for i in range(k1) for j in range(i, k1)]
    width = 2 * (k1 + 1) + len(pairs) + 2
    loc = SimpleNamespace(valid=valid, y=y, blocked=blocked, chunk=SimpleNamespace(returns=returns))
    shift = firm_shift(y, valid)
    expected = window_sums(_moments(loc, x, shift, pairs), (t, width, f), starts, stops, cols, block=64)
    out, got, written = np.zeros((n, width)), np.empty(f), np.ones((f, t), bool)
    at = np.array(pairs, np.int64).reshape(-1, 2)
    kernel.compiled("estimation_sums")(written, x, x_ok, y.T, returns.T, blocked.T, starts, stops, cols, at, got, out)
    np.testing.assert_array_equal(written, valid.T)
    assert (~x_ok).any() == (k1 > 0) and not valid[~x_ok].any()  # sessions without the regressors: no firm's
    same_bits(shift, got)
    same_bits(expected, out)
    assert (expected[:, -1] > 0).any()  # returns were set aside
    with pytest.raises(ValueError, match="cols names a firm outside y"):
        kernel.compiled("estimation_sums")(
            written, x, x_ok, y.T, returns.T, blocked.T, starts, stops, cols + f, at, got, out
        )


def test_pairwise_sums_from_the_compiled_loop_are_numpys():
    """numpy's order of summing a row, on every length to 300 and some longer (splits in two
    several levels deep), of values of every size, of negative zeros, squared or not."""
    rng = np.random.default_rng(5)
    pairwise = kernel.compiled("pairwise_sum")
    for n in [*range(1, 301), 1000, 1025, 4099]:
        rows = rng.standard_normal((3, n)) * 10.0 ** rng.integers(-8, 8, (3, n))
        rows[2] = -0.0
        for row in rows:
            same_bits(0.0 + pairwise(row, 0, n, False), row.sum())
            same_bits(0.0 + pairwise(row, 0, n, True), (row * row).sum())
    shifted = rng.standard_normal(500)
    same_bits(0.0 + pairwise(shifted, 37, 400, False), shifted[37:437].sum())  # a row's part
    with pytest.raises(ValueError, match="not inside"):
        pairwise(shifted, 400, 101, False)


@pytest.mark.parametrize(("positions", "length", "lags"), [(40, 260, 11), (5, 7, 9), (1, 30, 3), (12, 3, 5)])
def test_rbar_lag_products_from_the_compiled_loop_are_numpys(positions, length, lags):
    """r̄'s sums of products of its sums by position at each distance (finish.lag_products), compiled
    and numpy's, and as a plain loop adds them: each row's dot product in numpy's pairwise order,
    the positions one after another; more distances than positions or days (their sums 0), rows
    of zeros and of negative zeros, days split in two for the pairwise sum (260)."""
    from eventstudy.core.stream.finish import lag_products

    rng = np.random.default_rng(9)
    table = rng.standard_normal((positions, length)) * 10.0 ** rng.integers(-3, 3, (positions, length))
    table[0, : length // 2] = -0.0
    table[-1] = 0.0
    numpy_path, compiled = lag_products(table, lags, False), lag_products(table, lags, True)
    same_bits(numpy_path, compiled)
    for d in range(lags):
        rows = [np.multiply(table[p, d:], table[p + d, : max(length - d, 0)]).sum() for p in range(positions - d)]
        total = rows[0] if rows else 0.0
        for r in rows[1:]:
            total = total + r
        same_bits(np.float64(total), compiled[d])
    assert len(lag_products(table, 0, True)) == 0


@pytest.mark.parametrize("length", [30, 7, 260])  # under 8, up to 128 and split in two: each way numpy sums
@pytest.mark.parametrize("one_date", [False, True])
def test_rbar_rows_and_their_sums_by_position_from_the_compiled_loops_are_numpys(length, one_date):
    """r̄'s standardized rows and their sums by calendar position (and by coverage band on one
    date) against the numpy steps: rows all missing, with two days, of no variance, of −0 and
    of large values; positions repeated and out of order, and positions of one row (the compiled
    loop adds those at once); two groups, one of them empty, and rows in both; the estimation days
    after other days of the grid."""
    rng = np.random.default_rng(length)
    n, g, lo = 300, length + 11, 5
    ar = rng.standard_normal((n, g)) * 10.0 ** rng.integers(-6, 6, (n, g))
    ar[rng.random((n, g)) < 0.1] = np.nan
    ar[0] = np.nan
    ar[1, lo + 2 :] = np.nan
    ar[2] = 0.25
    ar[3] = -0.0
    ar[4, ::2] = -0.0
    pos = np.zeros(n, np.int64) if one_date else rng.integers(0, 40, n)
    if not one_date:
        pos[::15] = 40 + np.arange(len(pos[::15]))  # 20 positions of one row each, rows 0 and 3 among them
    member = np.stack([rng.random(n) < 0.7, np.zeros(n, bool), rng.random(n) < 0.5], axis=1)
    valid = np.isfinite(ar)
    fit = SimpleNamespace(ar=ar, valid=valid, n_valid=np.count_nonzero(valid[:, lo : lo + length], axis=1))
    ev = SimpleNamespace(member=member, pos=pos)
    sums = []
    for on in (False, True):
        plan = SimpleNamespace(
            groups=("some", "none", "half"),
            est_cols=np.arange(lo, lo + length),
            est_slice=slice(lo, lo + length),
            sessions=60,
            apart=not one_date,
            kernel=on,
        )
        rows = _zero_filled_rows(plan, ar)
        rbar = _RbarSums(plan, np.unique(pos))  # the chunk's positions only
        rbar.add(fit, ev)
        rbar.add(fit, ev)  # a second block adds to what the first left
        sums.append((rows, Partial().add(Partial(rbar.result())).sums))  # placed among every position
    (rows0, sums0), (rows1, sums1) = sums
    for a, b in zip(rows0, rows1, strict=True):
        same_bits(a, b)
    assert rows0[2][2:].any() and not rows0[2][:2].any()  # rows that count, and those that do not
    assert sums0.keys() == sums1.keys()
    for key in sums0:
        same_bits(sums0[key], sums1[key])
    same_bits(sums0["at"].sum(axis=1), 2.0 * member.sum(axis=0))  # each group's rows, twice
    assert sums0["day_any"][0].any() and not sums0["day_any"][1].any()


@pytest.mark.parametrize("k1", [0, 1, 3])
@pytest.mark.parametrize("gap", [False, True])
def test_ars_on_the_grid_from_the_compiled_loop_are_the_formulas(k1, gap):
    """grid_residuals against y − shift − θ₀ − Σ θ_i (x_i − x̄_i), worked in that order: rows inside
    the data (a run of consecutive sessions, the loop's quick way) and rows that reach past
    either end (NaN there), a grid with a gap (each day looked up), estimation days not valid
    (NaN, not ok), and the mean-adjusted model (y − shift alone)."""
    rng = np.random.default_rng(k1 + 10 * gap)
    f, t, n = 4, 80, 40
    grid = np.r_[np.arange(-30, -5), np.arange(-2, 4)] if gap else np.arange(-30, 4)
    g = len(grid)
    y = rng.standard_normal((f, t))
    valid = rng.random((f, t)) < 0.9
    x = rng.standard_normal((t, k1)) if k1 else np.zeros((t, 0))
    pos = rng.integers(0, t, n)
    pos[:3] = [0, t - 1, 40]  # past the start, past the end, inside
    cols = rng.integers(0, f, n)
    in_est = grid < -5
    shift, x_mean = rng.standard_normal(f), rng.standard_normal(k1)
    theta = rng.standard_normal((n, k1 + 1))
    for estimated in (True, False):
        ar, ok, counts = np.empty((n, g)), np.empty((n, g), bool), np.empty((n, 2), np.int64)
        args = (y, valid, x, pos, cols, grid, in_est, shift, x_mean, theta, estimated, ar, ok, counts)
        kernel.compiled("grid_residuals")(*args)
        at = pos[:, None] + grid[None, :]
        inside = (at >= 0) & (at < t)
        at = np.clip(at, 0, t - 1)
        expected = y[cols[:, None], at] - shift[cols][:, None]
        if estimated:
            expected = expected - theta[:, [0]]
            for i in range(k1):
                expected -= theta[:, [1 + i]] * (x[at, i] - x_mean[i])
        good = inside & in_est[None, :] & valid[cols[:, None], at]
        expected[~inside | (in_est[None, :] & ~good)] = np.nan
        same_bits(ar, expected)
        same_bits(ok, good)
        same_bits(counts, np.stack([good.sum(axis=1), (good & (expected > 0)).sum(axis=1)], axis=1))
    assert not np.isfinite(ar[0, :5]).any() and np.isfinite(ar[2, ~in_est]).all()


@pytest.mark.parametrize("counted", [False, True])
@pytest.mark.parametrize("n", [0, 1, 300])
def test_sums_by_group_and_window_from_the_compiled_loop_are_numpys(counted, n):
    """Each group's weighted sums of a block's values, and each window's less the firm-events
    without its CAR, compiled and numpy's, and both as a loop adds them row after row from 0.0:
    missing values (0, or not counted), weights of 1, 0 and fractions, a group of no firm-event,
    a window every firm-event has, negative values where the weight is 0 (−0 terms), no rows."""
    rng = np.random.default_rng(8)
    values = rng.standard_normal((n, 7)) * np.exp(rng.standard_normal((n, 7)) * 4)
    values[rng.random(values.shape) < 0.1] = np.nan
    weights = np.stack([rng.random(n) < 0.7, 1.0 / rng.integers(20, 40, n), np.zeros(n)], axis=1).astype(float)
    finite = np.stack([rng.random(n) < 0.8, np.ones(n, bool)], axis=1)
    numpy_path, compiled = (
        group_window_sums(SimpleNamespace(kernel=k), values, weights, finite, counted) for k in (0, 1)
    )
    for a, b in zip(numpy_path, compiled, strict=True):
        same_bits(a, b)
    terms = np.isfinite(values).astype(float) if counted else np.nan_to_num(values, nan=0.0)

    def by_loop(rows):
        sums = np.zeros((3, 7))
        for i in np.flatnonzero(rows):
            sums = sums + weights[i][:, None] * terms[i][None, :]
        return sums

    total, out = compiled
    same_bits(total, by_loop(np.ones(n, bool)))
    same_bits(out[1], total)
    expected = total - by_loop(~finite[:, 0]) if (~finite[:, 0]).any() else total
    same_bits(out[0], expected)
    assert not total[2].any() and (n < 300 or (~finite[:, 0]).any())


def test_calendar_time_sums_from_the_compiled_loop_are_numpys():
    """The calendar-time test's sums and counts by session, compiled and numpy's, and as a loop
    adds them: missing ARs, days before and after the data, two groups (one empty), windows of
    one day and of several, sessions shared by many firm-events, two blocks adding to the same
    sums."""
    rng = np.random.default_rng(6)
    n, t = 200, 30
    grid = np.arange(-8, 4)
    ar = rng.standard_normal((n, len(grid)))
    ar[rng.random(ar.shape) < 0.1] = np.nan
    pos = rng.integers(0, t, n)
    pos[:2] = [1, t - 1]  # days before the first session and after the last: no AR there, as the ARs' loop gives
    session = pos[:, None] + grid[None, :]
    ar[(session < 0) | (session >= t)] = np.nan
    windows = (Window(0, 0), Window(-1, 1), Window(-5, 3))
    plan = SimpleNamespace(
        sessions=t,
        windows=windows,
        groups=("some", "none"),
        grid=grid,
        kernel=False,
        inside=lambda w: (grid >= w.start) & (grid <= w.end),
    )
    weights = np.stack([rng.random((n, 3)) < 0.8, np.zeros((n, 3), bool)], axis=2)
    sums = []
    for p in (plan, SimpleNamespace(**{**vars(plan), "kernel": True})):
        out = {k: np.zeros((3, 2, t)) for k in ("cal", "cal_n")}
        for block in (slice(0, 120), slice(120, n)):
            fit, ev = SimpleNamespace(ar=ar[block]), SimpleNamespace(pos=pos[block])
            _calendar_sums(p, fit, ev, weights[block], out)
        sums.append(out)
    loop = {k: np.zeros((3, 2, t)) for k in ("cal", "cal_n")}
    for j, w in enumerate(windows):
        for g in range(2):
            for e in range(n):
                for c in np.flatnonzero(plan.inside(w)):
                    if weights[e, j, g] and np.isfinite(ar[e, c]):
                        loop["cal"][j, g, session[e, c]] += ar[e, c]
                        loop["cal_n"][j, g, session[e, c]] += 1.0
    for key in ("cal", "cal_n"):
        same_bits(sums[0][key], sums[1][key])
        same_bits(sums[1][key], loop[key])
    assert loop["cal_n"][:, 0].sum() > 0 and not loop["cal_n"][:, 1].any()


def _with_and_without_loops(monkeypatch, returns, regressors, events, **kw) -> tuple[dict, dict]:
    """Every frame of a streamed run with the compiled loops forced off, then on."""
    names = ("events", "car", "ar", "caar", "tests", "excluded", "intervals", "influence")
    runs = []
    for on in (False, True):
        res = run_event_study(returns, regressors, events, engine="stream", compiled=on, **kw)
        runs.append({name: getattr(res, name) for name in names})
    return runs[0], runs[1]


def _same_frames(plain: dict, compiled: dict) -> None:
    """Every frame equal, its numbers bit for bit."""
    for name, frame in plain.items():
        pd.testing.assert_frame_equal(frame, compiled[name], check_exact=True, obj=name)
        numbers = frame.select_dtypes("number")
        same_bits(numbers.to_numpy(), compiled[name][numbers.columns].to_numpy())


@pytest.mark.parametrize("one_date", [False, True])
@pytest.mark.parametrize("model", ["market", "market-adjusted", "ff3"])
def test_a_streamed_run_gives_the_same_bits_with_the_compiled_loops_and_without(monkeypatch, model, one_date):
    """Whole results, the compiled loops forced on and off: every frame the same (numbers bit
    for bit), on events on many dates (GRANK and the calendar-time test among the tests) or on
    one (r̄ by coverage band), with gaps, the firms' other events set aside, a factor missing
    for three sessions, two groups."""
    returns, regressors, events = earnings(missing=0.02, seed=4)
    if one_date:
        events = events.assign(event_date=events.event_date.iloc[len(events) // 2])
    if model == "ff3":
        rng = np.random.default_rng(3)
        regressors = regressors.rename(columns={"mkt": "mkt_rf"}).assign(
            smb=rng.normal(0, 0.005, len(regressors)), hml=rng.normal(0, 0.005, len(regressors)), rf=0.0001
        )
        regressors.iloc[200:203, 1] = np.nan
    groups = {"odd": list(events.event_id[1::2]), "all": list(events.event_id)}
    kw = dict(KW, model=model, groups=groups, chunk_size=50)
    plain, compiled = _with_and_without_loops(monkeypatch, returns, regressors, events, **kw)
    assert "grank" in set(plain["tests"].test) and len(plain["ar"]) and len(plain["influence"])
    assert one_date or ("calendar-time" in set(plain["tests"].test) and (plain["events"].n_removed > 0).any())
    _same_frames(plain, compiled)


def test_whole_blocks_give_the_same_bits_with_the_compiled_loops_and_without(monkeypatch):
    """As above on 1,500 firm-events in one chunk, so blocks of the full size (1,024): BLAS sums
    the rows of a large block in an order that depends on the arrays' memory order, so each
    array the two paths hand it must be laid out alike."""
    returns, regressors, events = earnings(n_firms=300, per_firm=5, missing=0.02, seed=4)
    plain, compiled = _with_and_without_loops(monkeypatch, returns, regressors, events, **KW, chunk_size=5_000)
    assert len(plain["events"]) > BLOCK and "grank" in set(plain["tests"].test)
    _same_frames(plain, compiled)


def test_the_compiled_loops_are_used_whenever_they_were_built(monkeypatch):
    """compiled=None takes them where they were built and the numpy steps where not, unasked;
    compiled=True where they were not is an error that says how to build them."""
    assert kernel.required(None) and kernel.required(True) and not kernel.required(False)
    returns, regressors, events = earnings(n_firms=10)
    used = []
    real = kernel.compiled
    monkeypatch.setattr(kernel, "compiled", lambda name: used.append(name) or real(name))
    run_event_study(returns, regressors, events, engine="stream", **KW)
    assert {"estimation_sums", "grid_residuals", "row_codes", "place_codes", "rbar_sums"} <= set(used)
    monkeypatch.setattr(kernel, "_loops", None)  # as installed without a C compiler
    assert not kernel.available() and not kernel.required(None)
    with pytest.raises(ImportError, match="C compiler"):
        run_event_study(returns, regressors, events, engine="stream", compiled=True, **KW)
    used.clear()
    res = run_event_study(returns, regressors, events, engine="stream", **KW)  # the numpy steps, unasked
    assert res.tests["stat"].notna().any() and used == []


def test_a_loop_refuses_arrays_it_cannot_read_instead_of_reading_past_them():
    """Each loop reads raw memory: an array of another type, not C-contiguous, read-only where
    it writes, or of a shape that does not fit the others is refused with the argument named."""
    ar = np.zeros((4, 6))
    keys = np.empty((4, 6), np.uint64)
    kernel.compiled("row_keys")(ar, keys)
    with pytest.raises(TypeError, match="ar must be a 2-dimensional array of float64"):
        kernel.compiled("row_keys")(ar.astype(np.float32), keys)
    with pytest.raises(TypeError, match="ar must be a C-contiguous array of float64"):
        kernel.compiled("row_keys")(np.asfortranarray(ar), keys)
    with pytest.raises(TypeError, match="keys must be a C-contiguous writable array of uint64"):
        kernel.compiled("row_keys")(ar, np.empty((4, 6), np.uint64)[:, ::2].copy().T)
    frozen = keys.copy()
    frozen.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        kernel.compiled("row_keys")(ar, frozen)
    with pytest.raises(ValueError, match="keys has 3 along axis 0 where 4 was expected"):
        kernel.compiled("row_keys")(ar, keys[:3])
    z, w, ok = np.empty((4, 5)), np.empty((4, 5)), np.empty(4, bool)
    with pytest.raises(ValueError, match="not inside"):
        kernel.compiled("standardized_rows")(ar, 2, 7, z, w, ok)
    with pytest.raises(TypeError, match="ok must be a 1-dimensional array of bool"):
        kernel.compiled("standardized_rows")(ar, 0, 5, z, w, ok.astype(np.int64))


def test_a_loop_refuses_an_index_that_points_outside_the_array_it_indexes():
    """Firms, rows, positions and a key's column that fall outside the array they index are
    refused before (or instead of) a read or a write there."""
    counts = (np.empty((3, 2), np.int64), np.empty((3, 2), np.int64))
    with pytest.raises(ValueError, match="estimation days lo:lo \\+ days are not inside ar's columns"):
        kernel.compiled("compare_sars")(
            np.zeros((3, 4)),
            2,
            np.ones(3),
            np.ones((3, 2), bool),
            np.zeros((3, 2)),
            np.ones(3),
            np.zeros((2, 3)),
            *counts,
        )
    ar, sums = np.zeros((2, 4)), (np.zeros((1, 5, 3)), np.zeros((1, 5, 3)), np.zeros((1, 5)), np.zeros((1, 3), bool))
    rows = (np.ones((2, 4), bool), 1, np.ones((2, 1), bool))
    with pytest.raises(ValueError, match="pos a position outside sum_z"):
        kernel.compiled("rbar_sums")(ar, *rows, np.array([0, 1]), np.array([0, 5]), *sums, np.empty(2, bool))
    with pytest.raises(ValueError, match="order names a row outside ar"):
        kernel.compiled("rbar_sums")(ar, *rows, np.array([0, 2]), np.array([0, 4]), *sums, np.empty(2, bool))
    with pytest.raises(ValueError, match="not inside ar's columns"):
        kernel.compiled("rbar_sums")(
            ar, np.ones((2, 4), bool), 2, rows[2], np.array([0, 1]), np.array([0, 4]), *sums, np.empty(2, bool)
        )
    keys = np.empty((1, 3), np.uint64)
    kernel.compiled("row_keys")(np.array([[0.3, 0.1, 0.2]]), keys)
    keys[0, 1] |= np.uint64(7)  # column 7 of a row of 3
    codes = np.empty((1, 3), np.uint32)
    kernel.compiled("row_codes")(np.array([[0.3, 0.1, 0.2]]), codes)
    codes[0, 1] |= np.uint32(7)
    rest = (np.arange(3), 0, np.empty((1, 3)), np.empty((1, 3)), np.zeros(1, bool))
    for name, args in (("place_ranks", (keys, np.ones((1, 3), bool), *rest)), ("place_codes", (codes, *rest))):
        with pytest.raises(ValueError, match="keys names a column past the row's"):
            kernel.compiled(name)(*args)
    grid = (np.zeros((2, 5)), np.ones((2, 5), bool), np.zeros((5, 1)), np.array([1]), np.array([2]), np.arange(2))
    rest = (np.ones(2, bool), np.zeros(2), np.zeros(1), np.zeros((1, 2)), True)
    out = (np.empty((1, 2)), np.empty((1, 2), bool), np.empty((1, 2), np.int64))
    with pytest.raises(ValueError, match="cols names a firm outside y"):
        kernel.compiled("grid_residuals")(*grid, *rest, *out)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_chunks_sums_by_position_add_into_every_sessions_table_as_the_dense_ones_did(compiled):
    """A chunk keeps r̄'s sums at its own positions only: placed among every session's, chunk
    after chunk (by numpy's indexing, or in place by the compiled loop), they are the dense
    tables' sums, bit for bit (the sessions no chunk has stay 0); counts (a number a position)
    too."""
    rng = np.random.default_rng(9)
    dense, counts, placed = np.zeros((2, 10, 3)), np.zeros((2, 10)), Partial()
    for rows in (np.array([1, 4, 5]), np.array([0, 4, 9]), np.array([], np.int64)):
        values = 0.0 + rng.standard_normal((2, len(rows), 3))
        at = rng.integers(1, 4, (2, len(rows))).astype(np.float64)
        full = np.zeros((2, 10, 3))
        full[:, rows] = values
        dense += full
        counts[:, rows] += at
        by_position = {"z": ByPosition(rows, values, 10, compiled), "at": ByPosition(rows, at, 10, compiled)}
        placed.add(Partial(by_position))
    same_bits(placed.sums["z"], dense)
    same_bits(placed.sums["at"], counts)
    assert not placed.sums["z"][:, [2, 3, 6, 7, 8]].any()
    with pytest.raises(ValueError, match="rows names a row outside table"):
        ByPosition(np.array([10]), np.zeros((2, 1, 3)), 10, True).add_into(np.zeros((2, 10, 3)))
