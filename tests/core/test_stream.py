"""The chunked engines (streamed, Dask) against the in-memory engine, per-firm OLS and values
known by construction: every statistic equal to 1e-10, but Kolari–Pynnönen's r̄ where it is
the sum identity, whose distance from the pairwise r̄ is bounded here."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import eventstudy as es
from eventstudy.core import exclusions, stream
from eventstudy.core.engine import run_event_study
from eventstudy.core.inference import MEMORY_ONLY, READ_RBAR
from eventstudy.core.stream.ranks import KEY_OF_INF, sorted_rows
from eventstudy.core.windows import Window

from ..helpers import synthetic_panel

KW = dict(
    estimation=Window(-120, -11),
    windows=[Window(0, 0), Window(-1, 1), Window(-3, 5)],
    path=Window(-5, 5),
    min_estimation_obs=80,
)
TOL = 1e-10


def earnings(n_firms=40, n_days=700, per_firm=6, missing=0.0, rho=0.2, seed=1, ties=False, seasons=False):
    """Firms with several events each (so estimation windows leave out the firm's other
    events), returns correlated across firms, some missing at random; with ``seasons`` the
    events fall within three sessions of one of ``per_firm`` common dates (clustered)."""
    rng = np.random.default_rng(seed)
    returns, regressors, _ = synthetic_panel(n_firms, n_days, rho=rho, seed=seed)
    r = returns.to_numpy(copy=True)
    r[rng.random(r.shape) < missing] = np.nan
    if ties:
        r = np.round(r, 3)  # many returns equal: ranks tie
    returns = pd.DataFrame(r, index=returns.index, columns=returns.columns)
    pos = np.sort(rng.integers(130, n_days - 6, (n_firms, per_firm)), axis=1)
    if seasons:
        pos = np.linspace(140, n_days - 10, per_firm).astype(int)[None, :] + rng.integers(0, 3, (n_firms, per_firm))
    tickers = np.repeat(returns.columns, per_firm)
    events = pd.DataFrame(
        {
            "event_id": [f"{t}:{i}" for i, t in enumerate(tickers)],
            "ticker": tickers,
            "event_date": returns.index[pos.ravel()],
        }
    ).sample(frac=1.0, random_state=seed)  # a file's order, not by firm
    return returns, regressors, events.reset_index(drop=True)


def same_column(x: pd.Series, y: pd.Series, label: str) -> None:
    """Numbers equal to 1e-10 (relative), anything else exactly."""
    if pd.api.types.is_float_dtype(x):
        np.testing.assert_allclose(y.to_numpy(), x.to_numpy(), rtol=TOL, atol=1e-14, err_msg=label)
    else:
        assert x.reset_index(drop=True).equals(y.reset_index(drop=True)), label


def assert_same(a, b, rbar_exact=True):
    """Every frame of two results equal: numbers to 1e-10 (relative), the rest exactly."""
    for name in ("events", "car", "ar", "caar", "tests", "intervals"):
        fa, fb = getattr(a, name), getattr(b, name)
        assert list(fa.columns) == list(fb.columns), name
        assert len(fa) == len(fb), name
        keep = np.ones(len(fa), bool)
        if name in ("tests", "intervals"):
            # the tests only the in-memory engine computes: b (streamed) says why it did not
            keep = ~fa.test.isin(MEMORY_ONLY).to_numpy()
            if name == "tests" and (fa.test.isin(MEMORY_ONLY) & fb.test.isin(MEMORY_ONLY)).any():
                assert fb.detail[~keep].str.contains("engine='memory'").all()
            if not rbar_exact:
                keep &= ~fa.test.isin(READ_RBAR).to_numpy()
        for col in fa.columns:
            if (col == "rbar" and not rbar_exact) or (name == "tests" and col == "detail"):
                continue  # r̄'s method is named in the detail
            same_column(fa[col][keep], fb[col][keep], f"{name}.{col}")
    cols = ["event_id", "stage", "reason"]
    ea = a.excluded.sort_values(cols).reset_index(drop=True)
    eb = b.excluded.sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(ea, eb)
    assert a.groups == b.groups


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_streamed_equals_in_memory_on_one_date_with_complete_returns(chunk):
    returns, regressors, events = synthetic_panel(60, 300, rho=0.3, injected=0.02)
    a = run_event_study(returns, regressors, events, **KW)
    b = run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=chunk)
    assert_same(a, b)  # r̄ too: on complete residuals the sum identity is the pairwise r̄
    assert (b.tests.detail[b.tests.test == "kolari-pynnonen"].str.fullmatch(r"r̄ = [-0-9.]+")).all()


@pytest.mark.parametrize("model", ["market", "market-adjusted", "constant-mean", "ff3"])
def test_streamed_equals_in_memory_on_different_dates_with_gaps(model):
    returns, regressors, events = earnings(missing=0.02)
    if model == "ff3":
        rng = np.random.default_rng(3)
        regressors = regressors.rename(columns={"mkt": "mkt_rf"}).assign(
            smb=rng.normal(0, 0.005, len(regressors)), hml=rng.normal(0, 0.005, len(regressors)), rf=0.0001
        )
        regressors.iloc[200:203, 1] = np.nan  # a factor missing for three sessions
    kw = dict(KW, model=model, min_estimation_obs=95)  # some events have too few days: excluded
    groups = {"odd": list(events.event_id[1::2]), "all": list(events.event_id)}
    a = run_event_study(returns, regressors, events, **kw, groups=groups)
    b = run_event_study(returns, regressors, events, **kw, groups=groups, engine="stream", chunk_size=50)
    assert (a.excluded.stage == "estimation").any() and (a.events.n_removed > 0).any()
    assert set(a.tests.test) >= {"grank", "calendar-time"}
    assert_same(a, b, rbar_exact=False)


def test_chunks_holding_only_the_sessions_their_events_reach_equal_in_memory():
    """One event a firm, late in a long panel, chunked by a few firms: each chunk holds only the
    sessions its events reach (from well after the first), and what it finds there is the
    in-memory engine's, the reasons for a window with a missing day too."""
    returns, regressors, _ = synthetic_panel(30, 900, rho=0.2, seed=4)
    r = returns.to_numpy(copy=True)
    pos = np.linspace(500, 880, 30).astype(int)
    r[pos[::4] + 1, np.arange(30)[::4]] = np.nan  # day +1 missing: no CAR in the windows holding it
    returns = pd.DataFrame(r, index=returns.index, columns=returns.columns)
    events = pd.DataFrame({"event_id": returns.columns, "ticker": returns.columns, "event_date": returns.index[pos]})
    chunks = stream.Layout.of(returns.index, returns.columns, events, {"all": list(events.event_id)})
    reach = (-120, 5)  # KW's estimation window and path
    spans = chunks.spans(5, len(returns), reach)
    assert min(chunks.chunk(r, s, reach).start for s in spans) == 500 - 120  # none holds the panel's start
    a = run_event_study(returns, regressors, events, **KW)
    b = run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=5)
    assert (a.excluded.stage == "window [-1,+1]").sum() == 8
    assert_same(a, b)


def test_two_workers_give_the_same_numbers_as_one():
    returns, regressors, events = earnings(missing=0.01)
    one = run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=40, workers=1)
    two = run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=40, workers=2)
    pd.testing.assert_frame_equal(one.tests, two.tests)
    pd.testing.assert_frame_equal(one.car, two.car)


def test_blas_keeps_to_one_thread_during_the_passes_and_is_given_back_after(monkeypatch):
    """The chunks' products are too small to share: OpenBLAS's own threads would only take the
    cores from the stream's workers, so the passes hold BLAS to one thread, and the caller's
    setting is back once the run is done."""
    from threadpoolctl import threadpool_info, threadpool_limits

    stream_run = importlib.import_module("eventstudy.core.stream.run")  # the module, not its run()

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    seen = []
    first = stream_run._first_pass
    monkeypatch.setattr(stream_run, "_first_pass", lambda span: seen.append(blas_threads()) or first(span))
    returns, regressors, events = earnings()
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=60, workers=2)
        assert blas_threads() == before
    assert seen and all(threads == {1} for threads in seen)


def test_threads_take_turns_at_the_gil_quickly_during_the_passes_and_the_callers_interval_is_back_after(
    monkeypatch,
):
    """On threads the passes shorten Python's switch interval to TURN and give the caller's back;
    with one worker (no threads), or a caller's interval already shorter, it is left alone."""
    import sys

    stream_run = importlib.import_module("eventstudy.core.stream.run")
    seen = []
    first = stream_run._first_pass

    def first_pass(span):
        seen.append(sys.getswitchinterval())
        return first(span)

    monkeypatch.setattr(stream_run, "_first_pass", first_pass)
    returns, regressors, events = earnings()
    caller = sys.getswitchinterval()
    try:
        for interval, workers, during in ((0.005, 2, stream_run.TURN), (0.005, 1, 0.005), (0.0002, 2, 0.0002)):
            sys.setswitchinterval(interval)
            seen.clear()
            run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=60, workers=workers)
            assert seen and all(t == pytest.approx(during) for t in seen)
            assert sys.getswitchinterval() == pytest.approx(interval)
    finally:
        sys.setswitchinterval(caller)


def test_huge_pages_are_advised_for_the_passes_arrays_not_for_memory_written_once(monkeypatch):
    """numpy's advice of huge pages for its large arrays stays on for the passes' own arrays, is
    off while the result's blocks the passes place rows into are made and while the frames are
    made after, and is the caller's again after the run (whatever it was)."""
    from contextlib import contextmanager

    stream_run = importlib.import_module("eventstudy.core.stream.run")
    finish_module = importlib.import_module("eventstudy.core.stream.finish")
    memory = importlib.import_module("eventstudy.core.stream.memory")
    advise = memory.huge_page_switch()
    if advise is None:
        pytest.skip("this numpy gives no advice of huge pages")

    def advised():
        before = advise(False)
        advise(before)
        return before

    seen = {}
    first, finish, small = stream_run._first_pass, stream_run.finish, memory.small_pages

    def first_pass(span):
        seen.setdefault("passes", advised())
        return first(span)

    def frames(*args):
        seen.setdefault("frames", advised())
        return finish(*args)

    @contextmanager
    def blocks():
        with small():
            seen.setdefault("blocks", advised())
            yield

    monkeypatch.setattr(stream_run, "_first_pass", first_pass)
    monkeypatch.setattr(stream_run, "finish", frames)
    monkeypatch.setattr(finish_module, "small_pages", blocks)
    returns, regressors, events = earnings()
    caller = advise(True)
    try:
        for setting in (True, False):
            advise(setting)
            seen.clear()
            run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=60, workers=2)
            assert seen == {"passes": setting, "blocks": False, "frames": False} and advised() == setting
    finally:
        advise(caller)


def test_written_zeros_are_the_zeros_sums_start_from():
    """The tables r̄'s sums are added into, written at once, are what ``np.zeros`` gives: +0.0 in
    float64, C-ordered, of the shape asked (a sum of −0 would differ from 0.0 plus the rows)."""
    from eventstudy.core.stream.memory import written_zeros

    table = written_zeros((2, 3, 5))
    assert table.shape == (2, 3, 5) and table.dtype == np.float64 and table.flags.c_contiguous
    assert not table.any() and not np.signbit(table).any()
    np.testing.assert_array_equal(table, np.zeros((2, 3, 5)))


def test_two_by_two_inverses_in_closed_form_are_exact_where_lapacks_are():
    """The first pass's closed-form inverses of the market model's X′X against the exact ones
    (worked out in extended precision): within 1e-15 for the centred regressors the first pass
    hands them, within 1e-12 for ill-conditioned ones (LAPACK's, _batched_inverse's, are off
    by up to 7e-13 there), and NaN where LAPACK's are: a regressor that never moved, one that
    is the constant (a correlation of 1), a nearly singular one, and no observation; other
    sizes are _batched_inverse's own."""
    from eventstudy.core.models import _batched_inverse
    from eventstudy.core.stream.first_pass import _inverse

    def products(x):
        n, sx, sxx = np.full(len(x), float(x.shape[1])), x.sum(axis=1), (x * x).sum(axis=1)
        return np.stack([np.stack([n, sx], axis=1), np.stack([sx, sxx], axis=1)], axis=1)

    def exact(xtx):
        a, b, c, d = (xtx.astype(np.longdouble)[:, i, j] for i, j in [(0, 0), (0, 1), (1, 0), (1, 1)])
        return (np.stack([d, -b, -c, a], axis=1) / (a * d - b * c)[:, None]).reshape(-1, 2, 2).astype(float)

    rng = np.random.default_rng(11)
    x = rng.standard_normal((500, 120)) * rng.uniform(1e-4, 1e2, (500, 1)) + rng.uniform(-5, 5, (500, 1))
    for xtx, rtol in [(products(x - x.mean(axis=1, keepdims=True)), 1e-15), (products(x), 1e-12)]:
        np.testing.assert_allclose(_inverse(xtx), exact(xtx), rtol=rtol, atol=0)
    xtx = products(x)
    xtx[0] = [[120.0, 0.0], [0.0, 0.0]]  # a regressor that never moved
    xtx[1] = [[120.0, 240.0], [240.0, 480.0]]  # x = 2: the constant again
    xtx[2] = [[1.0, 1.0], [1.0, 1.0 + 1e-13]]  # all but singular
    xtx[3] = 0.0  # no observation
    closed = _inverse(xtx)
    np.testing.assert_array_equal(np.isnan(closed), np.isnan(_batched_inverse(xtx)))
    assert np.isnan(closed[:4]).all() and not np.isnan(closed[4:]).any()
    three = rng.standard_normal((4, 3, 3))
    three = three @ three.transpose(0, 2, 1)
    np.testing.assert_array_equal(_inverse(three), _batched_inverse(three))


def test_rows_placed_as_they_come_are_the_rows_sorted_at_the_end():
    """Chunks' rows written at their final places as they come (in any order of chunks, two rows
    a firm-event) give the frame that sorting them all at the end gives; rows of a firm-event the
    first pass excluded are refused, and a fitted firm-event left without rows is caught."""
    from eventstudy.core.stream.finish import Placed, _table

    rng = np.random.default_rng(5)
    n = 12
    ids = pd.Index([f"e{i}" for i in range(n)])
    layout = SimpleNamespace(event_ids=ids, tickers=pd.Index([f"T{i % 3}" for i in range(n)]))
    fitted = np.ones(n, bool)
    fitted[[2, 7]] = False
    chunks = np.array_split(rng.permutation(np.flatnonzero(fitted)), 3)
    parts = [
        {
            "order": np.repeat(c, 2),
            "window": np.tile([0, 1], len(c)),
            "car": rng.standard_normal(2 * len(c)),
            "se": rng.random(2 * len(c)),
        }
        for c in chunks
    ]
    placed = Placed(fitted, 2)
    placed.extend(parts[::-1])
    np.testing.assert_array_equal(placed.rows, np.flatnonzero(fitted))
    expected = _table(parts, layout)
    np.testing.assert_array_equal(placed.column("car"), expected.car)  # a column, before the frame
    frame = placed.frame(ids.take(placed.rows), layout.tickers.take(placed.rows))
    pd.testing.assert_frame_equal(frame, expected)
    with pytest.raises(AssertionError, match="excluded"):
        Placed(fitted, 2).put({k: v[:2] for k, v in parts[0].items()} | {"order": np.array([7, 7])})
    partly = Placed(fitted, 2)
    partly.extend(parts[:2])
    with pytest.raises(AssertionError, match="without its rows"):
        partly.column("car")
    with pytest.raises(AssertionError, match="without its rows"):
        partly.frame(ids, layout.tickers)


def test_sort_keys_order_rows_as_an_argsort_does():
    """The 64-bit keys sort each row as numpy's argsort of its single-precision values: signs,
    zeros of either sign, tiny and huge values, +inf (a missing value) last."""
    rng = np.random.default_rng(11)
    values = rng.normal(0, 0.02, (300, 41)) * rng.choice([1e-30, 1.0, 1e30], (300, 41))
    values[rng.random(values.shape) < 0.1] = np.inf
    values[0, :3] = [-0.0, 0.0, -1e-300]  # round to single-precision zeros: a tie
    order, keys = sorted_rows(values)
    single = values.astype(np.float32)
    expected = np.sort(single, axis=1)
    np.testing.assert_array_equal(np.take_along_axis(single, order, axis=1), expected)
    assert ((keys[:, 1:] == keys[:, :-1]) == (expected[:, 1:] == expected[:, :-1])).all()  # equal keys: ties
    assert ((keys == KEY_OF_INF) == np.isinf(expected)).all()


def test_ties_in_returns_rank_as_the_in_memory_engine_ranks_them():
    returns, regressors, events = earnings(ties=True)
    a = run_event_study(returns, regressors, events, **KW)
    b = run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=64)
    assert_same(a, b, rbar_exact=False)


@pytest.mark.parametrize("apart", [False, True])
def test_rbar_by_the_sum_identity_stays_close_to_the_pairwise_rbar(apart):
    """Correlated residuals (ρ = 0.3) with 5 % of the returns missing: the identity's r̄ within
    2·10⁻³ of the pairwise-complete r̄ (one date), or r̄_eff of events on different dates."""
    if apart:
        returns, regressors, events = earnings(n_firms=80, per_firm=3, missing=0.05, rho=0.3, seasons=True)
    else:
        returns, regressors, events = synthetic_panel(150, 300, rho=0.3)
        r = returns.to_numpy(copy=True)
        r[np.random.default_rng(4).random(r.shape) < 0.05] = np.nan
        returns = pd.DataFrame(r, index=returns.index, columns=returns.columns)
    a = run_event_study(returns, regressors, events, **KW)
    b = run_event_study(returns, regressors, events, **KW, engine="stream")
    ra, rb = implied_rbar(a), implied_rbar(b)
    assert (ra > 0.02).all()  # the correlation is there to be measured
    assert np.abs(ra - rb).max() < 2e-3
    assert b.tests.detail[b.tests.test == "kolari-pynnonen"].str.contains("sum identity").all()


def implied_rbar(res) -> np.ndarray:
    """The r̄ each Kolari–Pynnönen statistic used: t_KP = t_BMP √((1 − r̄)/(1 + (N − 1) r̄))."""
    t = res.tests.set_index(["group", "window", "test"]).stat.unstack()
    q = (t["kolari-pynnonen"] / t["bmp"]) ** 2
    n = res.tests[res.tests.test == "bmp"].set_index(["group", "window"]).n_firms
    return ((1 - q) / (1 + (n - 1) * q)).to_numpy()


def test_running_sums_estimate_what_per_firm_ols_estimates():
    """θ̂ and σ̂ from running sums equal statsmodels OLS on each event's valid estimation days,
    on a long panel whose returns sit far from zero (the centring guards the sums)."""
    returns, regressors, events = earnings(n_firms=6, n_days=3000, per_firm=4, missing=0.02)
    returns = returns + 0.5  # a level that would cost digits in uncentred running sums
    res = run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=5)
    mem = run_event_study(returns, regressors, events, **KW)
    by_id = events.set_index("event_id")
    for row in res.events.itertuples():
        pos = returns.index.get_loc(by_id.event_date[row.event_id])
        firm = returns[row.ticker]
        days = np.arange(pos - 120, pos - 10)
        others = by_id[(by_id.ticker == row.ticker) & (by_id.index != row.event_id)].event_date
        blocked = np.zeros(len(returns), bool)
        for d in others:
            p = returns.index.get_loc(d)
            blocked[max(p - 5, 0) : p + 6] = True
        days = days[~blocked[days] & np.isfinite(firm.to_numpy()[days])]
        fit = sm.OLS(firm.to_numpy()[days], sm.add_constant(regressors.mkt.to_numpy()[days])).fit()
        assert row.n_est == len(days)
        np.testing.assert_allclose([row.alpha, row.beta], fit.params, rtol=1e-10)
        np.testing.assert_allclose(row.sigma, np.sqrt(fit.scale), rtol=1e-10)
    np.testing.assert_allclose(
        res.events[["alpha", "beta", "sigma"]], mem.events[["alpha", "beta", "sigma"]], rtol=1e-10
    )


def test_an_injected_effect_is_found_by_every_engine():
    returns, regressors, events = synthetic_panel(80, 300, injected=0.03, seed=5)
    res = run_event_study(returns, regressors, events, **KW, engine="stream", chunk_size=9)
    day0 = res.tests[(res.tests.window == "[0,0]")].set_index("test")
    assert day0.caar["csect-t"] == pytest.approx(0.03, abs=0.004)
    # the permutation p is at least 1/(the subsets of the pooled days): the window's day is the most extreme
    pooled = int(day0.detail["permutation"].split(" of ")[-1].split()[0])
    assert day0.p["permutation"] == pytest.approx(1 / pooled)
    assert (day0.p.drop(["permutation", *MEMORY_ONLY]) < 1e-6).all()


def test_no_event_that_can_be_placed_gives_reasons_not_a_crash():
    returns, regressors, events = synthetic_panel(5, 300)
    events = events.assign(ticker=["ZZZ"] * 5)
    res = run_event_study(returns, regressors, events, **KW, engine="stream")
    assert res.events.empty and (res.excluded.reason == "no returns for this ticker").all()
    assert res.tests.stat.isna().all()


def test_bad_engine_arguments_are_refused_with_the_choices(tmp_path):
    from eventstudy.data.panel import write_panel

    returns, regressors, events = synthetic_panel(5, 300)
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        run_event_study(returns, regressors, events, engine="spark")
    with pytest.raises(ValueError, match="chunk_size must be a positive"):
        run_event_study(returns, regressors, events, engine="stream", chunk_size=0)
    with pytest.raises(TypeError, match="open the panel first"):
        run_event_study("some/panel", regressors, events, engine="dask")  # the core reads no file
    with pytest.raises(ValueError, match="need engine='dask'"):
        es.run_event_study(write_panel(returns, tmp_path / "p"), regressors, events, engine="stream")


def test_chunks_hold_whole_firms_and_every_event_once():
    returns, regressors, events = earnings()
    layout = stream.Layout.of(returns.index, returns.columns, events, {"all": events.event_id})
    seen = []
    for span in layout.spans(13, len(returns)):
        chunk = layout.chunk(returns.to_numpy(), span)
        seen.extend(chunk.order.tolist())
        assert chunk.returns.shape[1] == len(np.unique(chunk.col))  # only its firms' columns
    assert sorted(seen) == list(range(len(events)))
    firms = [set(layout.tickers[layout.chunk(returns.to_numpy(), s).order]) for s in layout.spans(13, len(returns))]
    assert sum(len(f) for f in firms) == len(set().union(*firms))  # no firm split between chunks


def test_several_chunks_are_an_even_number_of_about_equal_size_within_the_bounds():
    """Chunks filled to the bounds one after another that are an odd number, or end with a small
    one, are cut again into an even number (two workers finish together): the firms in order,
    each once, every chunk within both bounds (below ``size`` firm-events before its last firm;
    or a firm alone), the largest no larger than the largest filled; one chunk stays one, and an
    even number of equal chunks stays as it is."""
    returns, _, events = earnings(n_firms=60, per_firm=8, seed=3)
    events = events.sample(frac=0.6, random_state=2)  # the firms' numbers of events differ
    layout = stream.Layout.of(returns.index, returns.columns, events, {"all": events.event_id})
    _, firms, bounds, lo, hi = layout._by_firm
    days, reach = len(returns), (-120, 5)

    def cells(a, b):
        return (b - a) * min(hi[a:b].max() - lo[a] + reach[1] - reach[0] + 1, days)

    cut = set()
    for size, cap in [(s, 1 << 21) for s in range(5, 120, 3)] + [(1000, c * days) for c in range(3, 40, 2)]:
        filled, spans = layout._filled(size, days, reach, cap), layout.spans(size, days, reach, cap)
        assert spans[0][0] == 0 and spans[-1][1] == len(firms)
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))
        for a, b in spans:  # below ``size`` before its last firm, and within ``cap``
            assert b - a == 1 or (bounds[b - 1] - bounds[a] < size and cells(a, b) <= cap)
        if len(filled) == 1:
            assert spans == filled
        elif spans != filled:
            cut.add(len(filled) % 2)
            assert len(spans) % 2 == 0 and len(spans) <= len(filled) + 1
            most = max(bounds[b] - bounds[a] for a, b in filled) if cap == 1 << 21 else max(cells(*f) for f in filled)
            assert max(bounds[b] - bounds[a] if cap == 1 << 21 else cells(a, b) for a, b in spans) <= most
    assert cut == {0, 1}  # odd numbers cut again, and even ones whose last chunk was small
    even = stream.Layout.of(returns.index, returns.columns, earnings(n_firms=40, per_firm=5)[2], {"all": []})
    assert even.spans(50, days) == even._filled(50, days, (0, 0), 1 << 21) == [(0, 10), (10, 20), (20, 30), (30, 40)]


def test_the_firm_order_is_lexsorts_and_chunks_take_firms_by_their_first_event():
    """``firm_order`` (one sort of a combined key) against numpy's lexsort, with repeated
    (firm, session) pairs, and the layout's order against a sort of Python tuples: firms by their
    first event's session (ties by column), each firm's events by session, then by row."""
    rng = np.random.default_rng(7)
    col, pos = rng.integers(0, 40, 5_000), rng.integers(0, 300, 5_000)
    assert np.array_equal(stream.plan.firm_order(col, pos), np.lexsort((pos, col)))
    big = np.array([2**40, 2**40, 3, 3]), np.array([2**30, 5, 2**30, 5])  # a key beyond 63 bits
    assert np.array_equal(stream.plan.firm_order(*big), np.lexsort(big[::-1]))
    assert len(stream.plan.firm_order(col[:0], pos[:0])) == 0
    first = {c: pos[col == c].min() for c in np.unique(col)}
    expected = sorted(range(len(col)), key=lambda i: (first[col[i]], col[i], pos[i], i))
    dates = pd.bdate_range("2020-01-01", periods=300)
    tickers = pd.Index([f"T{c:02d}" for c in range(40)])
    events = pd.DataFrame(
        {"event_id": [f"e{i}" for i in range(len(col))], "ticker": tickers[col], "event_date": dates[pos]}
    )
    layout = stream.Layout.of(dates, tickers, events, {"all": events.event_id})
    order, firms, starts, _, _ = layout._by_firm
    assert order.tolist() == expected
    assert np.array_equal(firms, sorted(first, key=lambda c: (first[c], c)))
    assert np.array_equal(np.diff(starts), [np.sum(col == c) for c in firms])


def test_events_without_a_ticker_or_a_session_are_placed_nowhere_with_their_reason():
    dates = pd.bdate_range("2020-01-01", periods=10)
    events = pd.DataFrame(
        {
            "event_id": ["a", "b", "c", "d"],
            "ticker": ["B", None, "Z", "A"],
            "event_date": [dates[2], dates[3], dates[4], pd.Timestamp("2020-01-04")],  # a Saturday
        }
    )
    col, pos, excluded = exclusions.locate(dates, pd.Index(["A", "B"]), events)
    assert col.tolist() == [1, -1, -1, 0] and pos.tolist() == [2, 3, 4, -1]
    assert excluded.event_id.tolist() == ["b", "c", "d"]
    assert excluded.reason.tolist() == ["no returns for this ticker"] * 2 + [
        "the event date is not a session of the return data"
    ]


# --- Dask -------------------------------------------------------------------------------------

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client(dask_client):
    return dask_client


def test_dask_equals_the_streamed_engine_on_frames_and_on_a_parquet_panel(client, tmp_path):
    from eventstudy.data.panel import write_panel

    returns, regressors, events = earnings(missing=0.02)
    kw = dict(KW, groups={"odd": list(events.event_id[1::2]), "all": list(events.event_id)})
    streamed = run_event_study(returns, regressors, events, **kw, engine="stream", chunk_size=50)
    frames = run_event_study(returns, regressors, events, **kw, engine="dask", chunk_size=50, scheduler=client)
    write_panel(returns, tmp_path / "panel", tickers_per_file=7)
    panel = es.run_event_study(str(tmp_path / "panel"), regressors, events, **kw, engine="dask", scheduler=client)
    assert_same(streamed, frames)
    assert_same(streamed, panel)
    memory = run_event_study(returns, regressors, events, **kw)
    assert_same(memory, panel, rbar_exact=False)
    again = run_event_study(returns, regressors, events, **kw, engine="dask", chunk_size=50, scheduler=client)
    for name in ("events", "car", "tests", "caar"):  # the same cluster, the same bits
        pd.testing.assert_frame_equal(getattr(frames, name), getattr(again, name), check_exact=True)


def test_a_parquet_panel_is_checked_when_opened(tmp_path):
    from eventstudy.data.panel import PanelError, ParquetPanel, read_returns_csv, write_panel

    returns, _, _ = synthetic_panel(6, 50, event_pos=40)
    with pytest.raises(PanelError, match="is not an eventstudy panel"):
        ParquetPanel.open(tmp_path)
    panel = write_panel(returns, tmp_path / "p", tickers_per_file=4)
    assert list(panel.columns) == list(returns.columns) and panel.index.equals(returns.index)
    assert not list((tmp_path / "p").glob("*.tmp"))
    returns.iloc[:, :2].to_parquet(tmp_path / "p" / "part-00009.parquet")  # another tool's file: not read
    assert list(ParquetPanel.open(tmp_path / "p").columns) == list(returns.columns)
    with pytest.raises(PanelError, match="not an eventstudy panel.*part-00009"):
        write_panel(returns, tmp_path / "p")  # nor removed
    record = json.loads((tmp_path / "p" / "panel.json").read_text())
    record["files"][1]["tickers"].append(record["files"][0]["tickers"][0])
    (tmp_path / "p" / "panel.json").write_text(json.dumps(record))
    with pytest.raises(PanelError, match="is in both"):
        ParquetPanel.open(tmp_path / "p")
    (tmp_path / "p" / "part-00001.parquet").unlink()
    with pytest.raises(PanelError, match="incomplete: part-00001.parquet is missing"):
        ParquetPanel.open(tmp_path / "p")
    long = returns.stack().rename("ret").reset_index().rename(columns={"level_1": "ticker"})
    long.to_csv(tmp_path / "long.csv", index=False)
    back = read_returns_csv(tmp_path / "long.csv")
    np.testing.assert_allclose(back[returns.columns].to_numpy(), returns.to_numpy())


def test_chunks_of_firms_with_one_event_each_reach_few_sessions_and_give_the_memory_engines_numbers():
    """One event a firm over a long panel: the firms are chunked in the order of their events, so
    a chunk reaches the sessions of nearby events only (its returns × sessions within the cell
    budget, far below the panel's length), and the streamed statistics equal the in-memory ones."""
    rng = np.random.default_rng(8)
    days, firms = 1500, 240
    index = pd.bdate_range("2001-01-01", periods=days, name="date")
    mkt = rng.normal(0.0004, 0.01, days)
    returns = pd.DataFrame(
        mkt[:, None] * rng.uniform(0.5, 1.5, firms) + rng.normal(0, 0.02, (days, firms)),
        index=index,
        columns=[f"F{i:03d}" for i in range(firms)],
    )
    at = rng.permutation(np.linspace(300, days - 30, firms).astype(int))  # the columns' order is not time's
    events = pd.DataFrame({"event_id": returns.columns, "ticker": returns.columns, "event_date": index[at]})
    layout = stream.Layout.of(index, returns.columns, events, {"all": events.event_id})
    reach = (-260, 10)
    spans = layout.spans(1000, days, reach, cells=40 * days)
    widths = []
    for span in spans:
        pos = layout.chunk(returns.to_numpy(), span).pos
        widths.append(pos.max() - pos.min() + reach[1] - reach[0] + 1)
        assert (span[1] - span[0]) * min(widths[-1], days) <= 40 * days or span[1] - span[0] == 1
    assert max(widths) < days / 2 and len(spans) < firms / 40
    kw = dict(estimation=(-250, -11), windows=[(0, 0), (-1, 1)], path=(-10, 10), min_estimation_obs=200)
    streamed = run_event_study(
        returns, pd.DataFrame({"mkt": mkt}, index=index), events, **kw, engine="stream", chunk_size=50
    )
    memory = run_event_study(returns, pd.DataFrame({"mkt": mkt}, index=index), events, **kw, engine="memory")
    assert_same(memory, streamed, rbar_exact=False)


def test_the_streamed_influence_table_drafted_beside_the_tests_is_the_in_memory_one():
    """The chunked engines draft the influence table's numbers on a thread of their own while the
    frames and tests are made, and put the lead test's p in after: every row and number as the
    in-memory engine gives them (which alone recomputes the p without an event), in groups of
    their own orders with an event left out before the CARs."""
    returns, regressors, events = synthetic_panel(60, 300, rho=0.3, injected=0.02)
    returns.iloc[:250, 3] = np.nan  # too few estimation days: not in the table
    ids = list(events.event_id)
    groups = {"all": ids, "back": ids[::-1][:25], "three": ids[10:13]}
    a = run_event_study(returns, regressors, events, **KW, groups=groups)
    b = run_event_study(returns, regressors, events, **KW, groups=groups, engine="stream", chunk_size=7)
    fa, fb = a.influence, b.influence
    assert list(fa.columns) == list(fb.columns) and len(fa) == len(fb) and set(fa.group) == set(groups)
    assert ids[3] not in set(fb.event_id)
    for col in fa.columns.drop(["p_without", "drives"]):
        same_column(fa[col], fb[col], f"influence.{col}")
    assert fb.p_without.isna().all() and fa.p_without.notna().any()
    lead = b.tests[b.tests.test == "kolari-pynnonen"].set_index(["group", "window"]).p
    assert (fb.test == "kolari-pynnonen").all()
    np.testing.assert_array_equal(fb.p, lead.loc[list(zip(fb.group, fb.window, strict=True))])
    one = b.car[b.car.window == "[0,0]"].set_index("event_id").car.loc[groups["three"]]
    np.testing.assert_allclose(fb[(fb.group == "three") & (fb.window == "[0,0]")].caar, one.mean(), rtol=1e-14)


def test_the_streamed_car_table_is_the_one_its_car_frame_gives(monkeypatch):
    """The influence table and the intervals read a table of the CARs that the streamed run
    makes from its layout: the same as reading the CAR frame by its ids, with events excluded
    before the CARs (an event with too few returns, one outside the data), groups in their own
    orders, and windows in the study's order."""
    from eventstudy.core import chunked
    from eventstudy.core.results import CarTable

    returns, regressors, events = earnings(missing=0.02, seed=4)
    events.loc[0, "event_date"] = returns.index[20]  # too few estimation days
    events.loc[1, "ticker"] = "NOPE"  # not in the data
    ids = list(events.event_id)
    groups = {"reversed": ids[::-1], "some": ids[:7] + ids[20:40:3]}
    seen = []
    made = chunked.caar_influence
    monkeypatch.setattr(chunked, "caar_influence", lambda table, *a, **k: seen.append(table) or made(table, *a, **k))
    res = run_event_study(returns, regressors, events, engine="stream", groups=groups, chunk_size=40, **KW)
    (table,) = seen
    read = CarTable.of(res.car, ("car", "se"), res.groups)
    assert {ids[0], ids[1]} <= set(res.excluded.event_id) and ids[0] not in set(table.event_ids)
    pd.testing.assert_index_equal(table.event_ids, read.event_ids)
    pd.testing.assert_index_equal(table.windows, read.windows)
    assert list(table.tickers) == list(read.tickers)
    for name in ("car", "se"):
        np.testing.assert_array_equal(table.values[name], read.values[name])
    assert table.groups.keys() == read.groups.keys()
    for name in table.groups:
        np.testing.assert_array_equal(table.groups[name], read.groups[name])
    assert list(table.event_ids[table.groups["reversed"]]) == [i for i in ids[::-1] if i in set(table.event_ids)]
