"""The placebo, on synthetic data whose answer is known by construction: independent firms make
every test reject near its nominal rate; a shared shock the market does not explain makes the
tests that assume independence over-reject and not Kolari–Pynnönen; an injected event effect
gives a small empirical p. Draws never touch the event's windows; a seed fixes everything."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from eventstudy.cli import main
from eventstudy.core.engine import Design, firm_events, run_event_study
from eventstudy.core.runspec import Engine
from eventstudy.core.windows import Window
from eventstudy.study.drawing import _one_thread
from eventstudy.study.placebo import (
    candidate_dates,
    clopper_pearson,
    draw_placebo,
    draw_sample_placebo,
    effective_draws,
    shift_ring,
    summarize,
)

WINDOWS = (Window(0, 0), Window(-1, 1))
PATH = Window(-3, 3)
EST = Window(-120, -11)


def empirical_p(stat: float, placebo: np.ndarray) -> float:
    """The definition, one statistic at a time: (1 + #{|S_b| >= |S|}) / (1 + B)."""
    if not np.isfinite(stat) or not len(placebo):
        return float("nan")
    return float((1 + np.sum(np.abs(placebo) >= abs(stat))) / (1 + len(placebo)))


def _panel(n_firms=30, days=700, shared=0.0, effect=0.0, seed=0):
    """Market-model returns; ``shared`` is the weight of a daily shock common to all firms that
    the market does not explain (cross-correlated residuals); ``effect`` is added on the event day."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-01", periods=days, name="date")
    mkt = rng.normal(0.0004, 0.01, days)
    common = rng.normal(0, 0.015, days)
    beta = rng.uniform(0.6, 1.4, n_firms)
    r = mkt[:, None] * beta + shared * common[:, None] + rng.normal(0, 0.015, (days, n_firms))
    event = index[500]
    r[500] += effect
    returns = pd.DataFrame(r, index=index, columns=[f"F{i:02d}" for i in range(n_firms)])
    return Design(returns, pd.DataFrame({"mkt": mkt}, index=index), None, "market", EST, WINDOWS, PATH, 100), event


def _placebo(design, event, draws=150, seed=3):
    real = design.at(event).tests
    return draw_placebo(design, event, draws, seed, real), real


def _rates(plac, window="[0,0]"):
    t = plac.table[plac.table.window == window].set_index("test")
    return t.reject_05


def test_independent_firms_every_test_rejects_near_its_nominal_rate():
    plac, _ = _placebo(*_panel())
    rates = _rates(plac)
    assert plac.n_draws == 150 and set(rates.index) >= {"kolari-pynnonen", "portfolio", "csect-t", "patell", "bmp"}
    assert (rates <= 0.11).all() and (rates >= 0.005).all(), rates.to_dict()


def test_a_shared_shock_makes_the_independence_tests_over_reject_and_not_kolari_pynnonen():
    plac, _ = _placebo(*_panel(shared=1.0))
    rates = _rates(plac)
    t = plac.table[(plac.table.window == "[0,0]")].set_index("test")
    for test in ("csect-t", "patell", "bmp"):
        assert rates[test] > 0.25 and t.lo_05[test] > 0.05, (test, rates[test])
    assert t.lo_05["kolari-pynnonen"] <= 0.05 <= t.hi_05["kolari-pynnonen"] and rates["kolari-pynnonen"] <= 0.11


def test_an_injected_event_effect_has_a_small_empirical_p():
    plac, real = _placebo(*_panel(effect=0.03))
    t = plac.table[plac.table.window == "[0,0]"].set_index("test")
    assert t.p_empirical["kolari-pynnonen"] <= 1 / (1 + plac.n_draws) + 1e-12  # beyond every placebo draw
    assert t.stat["kolari-pynnonen"] == pytest.approx(
        real[(real.window == "[0,0]") & (real.test == "kolari-pynnonen")].stat.iloc[0]
    )
    calm, _ = _placebo(*_panel())
    assert calm.table.set_index(["window", "test"]).p_empirical[("[0,0]", "kolari-pynnonen")] > 0.05
    for row in calm.table.itertuples():  # the vectorized table against the definition
        placebo = calm.draws[(calm.draws.window == row.window) & (calm.draws.test == row.test)].stat.dropna()
        assert row.p_empirical == pytest.approx(empirical_p(row.stat, placebo.to_numpy()), nan_ok=True)


def test_draws_never_touch_the_event_windows_and_fit_in_the_data():
    design, event = _panel()
    dates = candidate_dates(design, event)
    days = design.returns.index
    e, pos = days.get_loc(event), days.get_indexer(dates)
    assert len(dates) > 150
    assert ((pos + PATH.end < e - 1 - 1) | (pos - 1 > e + PATH.end + 1)).all()  # windows [-1,+3] stay clear
    # the study's own rule: at least min_estimation_obs (100) of the estimation window in the data
    assert (pos + EST.end - np.maximum(pos + EST.start, 0) + 1 >= 100).all() and (pos + PATH.end < len(days)).all()
    assert pos.min() == 100 + 10  # the first session with 100 estimation sessions before day −10
    plac, _ = _placebo(design, event)
    assert set(plac.draws.date) <= set(dates) and plac.draws.drop_duplicates("draw").date.is_unique


def test_a_seed_fixes_the_draws_and_the_numbers():
    design, event = _panel()
    a, _ = _placebo(design, event, draws=20, seed=7)
    b, _ = _placebo(design, event, draws=20, seed=7)
    c, _ = _placebo(design, event, draws=20, seed=8)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert set(a.draws.date) != set(c.draws.date)


def test_more_draws_than_dates_use_every_date_once():
    design, event = _panel(days=560)
    dates = candidate_dates(design, event)
    plac, _ = _placebo(design, event, draws=10_000)
    assert plac.n_draws == plac.dates == len(dates)


def test_clopper_pearson_and_the_empirical_p_by_hand():
    lo, hi = clopper_pearson(3, 10)  # the textbook interval for 3 of 10
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.0667, 0.6525)
    assert tuple(map(float, clopper_pearson(0, 10))) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)))
    assert tuple(map(float, clopper_pearson(10, 10))) == pytest.approx((0.025 ** (1 / 10), 1.0))
    assert empirical_p(2.0, np.array([-3.0, 1.0, 2.0, -0.5])) == pytest.approx((1 + 2) / 5)
    assert empirical_p(9.0, np.array([1.0, -2.0])) == pytest.approx(1 / 3)


def test_the_design_is_the_core_on_the_pseudo_date():
    design, event = _panel()
    date = candidate_dates(design, event)[10]
    direct = run_event_study(
        design.returns,
        design.regressors,
        firm_events(list(design.returns), date),
        estimation=EST,
        windows=WINDOWS,
        path=PATH,
        min_estimation_obs=100,
    ).tests
    pd.testing.assert_frame_equal(design.at(date).tests, direct)


def test_the_command_writes_the_placebo_and_run_keeps_it_while_the_design_is_the_same(tmp_path, capsys):
    from ..helpers import study_file

    path = study_file(tmp_path, tickers='["NVDA", "MSFT", "AMD", "AVGO", "MU"]')
    assert main(["placebo", str(path), "--draws", "6", "--seed", "4", "--offline", "--quiet"]) == 0
    results, report = path.parent / "results", path.parent / "REPORT.md"
    assert {"placebo.csv", "placebo_draws.csv", "placebo.json"} <= {p.name for p in results.iterdir()}
    first = report.read_text()
    assert "## Placebo: how much to trust each test here" in first and "on 6 pseudo-event dates" in first
    draws = (results / "placebo_draws.csv").read_bytes()
    assert main(["run", str(path), "--offline", "--quiet"]) == 0  # kept: the same design, the same data
    assert report.read_text() == first and (results / "placebo_draws.csv").read_bytes() == draws
    path.write_text(path.read_text().replace("[[0, 0], [-1, 1]]", "[[0, 0], [0, 2]]"))
    assert main(["run", str(path), "--offline", "--quiet"]) == 0  # another design: dropped, and said
    text = report.read_text()
    assert "## Placebo" not in text and "were made for another design or other data" in text
    assert not (results / "placebo_draws.csv").exists()
    assert main(["placebo", str(path), "--draws", "0", "--offline"]) == 2
    assert "--draws must be at least 1" in capsys.readouterr().err


def test_a_sample_moves_as_a_block_keeping_its_spread_clear_of_the_firms_own_events(monkeypatch):
    """The whole sample is shifted by one number of sessions per draw (wrapping around the
    stretch where pseudo-events fit): the spread of its dates and its clustering are kept, no
    firm has two events on a day, an event whose moved windows touch its firm's own real event
    is set aside, and the real events' sessions are missing from every estimation window."""
    design, _ = _panel(n_firms=12, days=800)
    days = design.returns.index
    firms = list(design.returns.columns)
    # 24 firm-events on 8 dates (three firms each), every firm with two events
    at = [300, 330, 360, 420, 480, 540, 600, 660]
    rows = [
        (f"e{i}", firms[(3 * k + j) % 12], days[at[k]])
        for i, (k, j) in enumerate((k, j) for k in range(8) for j in range(3))
    ]
    events = pd.DataFrame(rows, columns=["event_id", "ticker", "event_date"])
    seen, original = [], Design.run

    def spy(self, moved):
        seen.append((self, moved))
        return original(self, moved)

    monkeypatch.setattr(Design, "run", spy)
    real = original(design, events).tests
    plac = draw_sample_placebo(design, events, 5, 11, real)
    assert plac.n_draws == 5 and len(seen) == 5
    first, last = shift_ring(design)
    size = last - first + 1
    reach = PATH.end - PATH.start  # the path [-3,+3] holds every window: an event spans 7 sessions
    assert plac.ring == size and plac.dates == size - 2 * (reach + 2) + 1
    own = {t: days.get_indexer(g.event_date) for t, g in events.groupby("ticker")}
    aside = []
    for (masked, moved), d in zip(seen, plac.draws.drop_duplicates("draw").offset, strict=True):
        by_real = moved.merge(events, on="event_id", suffixes=("", "_real"))
        p, p_real = days.get_indexer(by_real.event_date), days.get_indexer(by_real.event_date_real)
        assert ((p - first) % size == (p_real - first + d) % size).all()  # one shift for every event
        assert not by_real.duplicated(["ticker", "event_date"]).any()
        for t, q in zip(by_real.ticker, p, strict=True):
            assert all(abs(q - e) > reach + 1 for e in own[t])  # clear of the firm's own events
        for t, positions in own.items():
            for e in positions:  # the real events' sessions are left out of the estimation windows
                assert masked.returns[t].iloc[e + PATH.start : e + PATH.end + 1].isna().all()
        aside.append(len(events) - len(moved))
    assert plac.set_aside == pytest.approx(np.mean(aside))
    monkeypatch.setattr(Design, "run", original)
    again = draw_sample_placebo(design, events, 5, 11, real)
    pd.testing.assert_frame_equal(plac.table, again.table)


def test_the_effective_number_of_overlapping_draws():
    """Two draws one session apart share half of a two-day window: n_eff = 4/3; draws farther
    apart than the window count fully; a ring wraps the distances."""
    assert effective_draws(np.array([0, 1]), 2) == pytest.approx(4 / 3)
    assert effective_draws(np.array([0, 10, 20]), 3) == pytest.approx(3.0)
    assert effective_draws(np.array([0, 99]), 2, ring=100) == pytest.approx(4 / 3)


def test_a_test_that_rejects_ten_percent_is_not_said_to_hold_its_size_on_sixty_draws():
    """With 60 independent draws a rate of 10 % has the interval [3.8 %, 20.5 %]: the draws are too
    few to tell, never "held its size"; 600 draws of 5 % rejections held it; 30 % over-rejects."""

    def table(k, n):
        draws = pd.DataFrame(
            {
                "draw": range(n),
                "date": pd.NaT,
                "offset": np.arange(n) * 100,
                "group": "all",
                "window": "[0,0]",
                "test": "t",
                "robust": True,
                "stat": 1.0,
                "p": [0.01] * k + [0.5] * (n - k),
                "n_firms": 10,
            }
        )
        real = pd.DataFrame({"group": ["all"], "window": ["[0,0]"], "test": ["t"], "stat": [2.0], "p": [0.04]})
        return summarize(draws, real, {"[0,0]": 1}).iloc[0]

    assert table(6, 60).size_05 == "too few draws to tell"
    assert table(30, 600).size_05 == "held its size"
    assert table(18, 60).size_05 == "over-rejects"


def test_altered_placebo_draws_are_not_trusted(tmp_path):
    from ..helpers import study_file

    path = study_file(tmp_path, tickers='["NVDA", "MSFT", "AMD", "AVGO", "MU"]')
    assert main(["placebo", str(path), "--draws", "4", "--seed", "2", "--offline", "--quiet"]) == 0
    draws = path.parent / "results" / "placebo_draws.csv"
    lines = draws.read_text().splitlines(keepends=True)
    draws.write_text("".join(lines[:-1]))  # cut short, as by a crash or an edit
    assert main(["run", str(path), "--offline", "--quiet"]) == 0
    text = (path.parent / "REPORT.md").read_text()
    assert "## Placebo" not in text and "is not the file its record describes" in text


def test_the_event_is_left_out_of_the_pseudo_events_estimation_windows(monkeypatch):
    design, event = _panel(effect=0.2)
    seen, original = [], Design.run

    def spy(self, events):
        seen.append(self.returns)
        return original(self, events)

    monkeypatch.setattr(Design, "run", spy)
    draw_placebo(design, event, 3, 1, design.at(event).tests)
    e = design.returns.index.get_loc(event)
    for returns in seen[1:]:  # the first run is the real event's, on the data as they are
        assert returns.iloc[e + PATH.start : e + PATH.end + 1].isna().all().all()
        assert returns.iloc[: e + PATH.start].notna().all().all()


def test_no_pseudo_event_that_fits_is_a_clear_error(tmp_path):
    from eventstudy.study.placebo import PlaceboError, run_placebo
    from eventstudy.study.studyfile import load_study

    from ..helpers import study_file

    # CRWV listed on 28 March 2025: on 20 June its estimation window [-60,-11] holds the 45 returns
    # asked for, and every later session that would is too close to the event or to the data's end
    path = study_file(tmp_path, event="2025-06-20", estimation="[-60, -11]", min_obs=45, tickers='["CRWV"]')
    study = load_study(path)
    from eventstudy.study.pipeline import run_study

    res = run_study(study)
    with pytest.raises(PlaceboError, match="no pseudo-event fits the data"):
        run_placebo(study, 10, 1, real=res)


def _grouped_sample():
    """24 firm-events of 12 firms on 8 dates, in two groups, so that some shifts set events aside."""
    design, _ = _panel(n_firms=12, days=800)
    days, firms = design.returns.index, list(design.returns.columns)
    at = [300, 330, 360, 420, 480, 540, 600, 660]
    rows = [(f"e{i}", firms[(3 * k + j) % 12], days[at[k]]) for i, (k, j) in enumerate(np.ndindex(8, 3))]
    events = pd.DataFrame(rows, columns=["event_id", "ticker", "event_date"])
    groups = {"early": list(events.event_id[:12]), "late": list(events.event_id[12:]), "all": list(events.event_id)}
    return replace(design, groups=groups), events


def test_a_sample_placebo_keeps_its_groups_to_each_draws_events_and_gives_the_same_bits_on_any_workers():
    """A shift that sets events aside (their moved windows touch the firm's own) leaves them out of
    the groups too (it failed: "group names ids that are no event_id"); the draws on one process
    and on two are the same, bit for bit, and the same again."""
    design, events = _grouped_sample()
    real = design.run(events).tests
    one = draw_sample_placebo(design, events, 12, 11, real, workers=1)
    assert one.set_aside > 0 and one.n_draws == 12
    assert set(one.draws.group) == {"early", "late", "all"}
    by_draw = one.draws[(one.draws.test == "csect-t") & (one.draws.window == "[0,0]")].pivot(
        index="draw", columns="group", values="n_firms"
    )
    assert (by_draw["early"] + by_draw["late"] == by_draw["all"]).all() and (by_draw["all"] < 24).any()
    two = draw_sample_placebo(design, events, 12, 11, real, workers=2)
    assert one.draws.equals(two.draws) and one.table.equals(two.table)


def test_streamed_draws_run_one_thread_a_worker_and_give_the_same_bits_as_threads_here():
    """On worker processes a streamed draw's core runs on one thread (the processes share the
    cores); here it runs on the machine's threads: the draws are the same, bit for bit."""
    design, events = _grouped_sample()
    design = replace(design, engine=Engine("stream", chunk_size=5))  # a few chunks of firms
    assert _one_thread(design).engine.workers == 1
    assert _one_thread(replace(design, engine=Engine("stream", workers=3))).engine.workers == 3  # asked: kept
    real = design.run(events).tests
    one = draw_sample_placebo(design, events, 12, 11, real, workers=1)
    two = draw_sample_placebo(design, events, 12, 11, real, workers=2)
    assert one.n_draws == 12 and one.draws.equals(two.draws)


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_a_draws_design_gives_the_full_runs_tests_bit_for_bit_without_the_per_day_frame(engine):
    """A draw reads the tests alone: its design leaves out the influence diagnostics, the
    intervals and (streamed) the per-day AR frame, and its tests are the full run's, bit for bit."""
    design, events = _grouped_sample()
    design = replace(design, engine=Engine(engine, chunk_size=5))
    full, draw = design.run(events), design.tests_only().run(events)
    pd.testing.assert_frame_equal(draw.tests, full.tests, check_exact=True)
    assert len(full.ar) and len(full.influence) and len(full.intervals)
    assert draw.influence.empty and draw.intervals.empty
    assert draw.ar.empty == (engine == "stream")  # the in-memory engine holds its ARs anyway


def test_a_one_date_placebo_is_the_same_on_one_process_two_and_a_dask_cluster(dask_client):
    design, event = _panel(n_firms=15)
    real = design.at(event).tests
    one = draw_placebo(design, event, 10, 5, real, workers=1)
    two = draw_placebo(design, event, 10, 5, real, workers=2)
    assert one.n_draws == 10 and one.draws.equals(two.draws)
    on_dask = draw_placebo(design, event, 10, 5, real, scheduler=dask_client)
    assert one.draws.equals(on_dask.draws)


def test_every_draw_holds_blas_to_one_thread_in_this_process_as_the_workers_do(monkeypatch):
    """A draw's numbers must not depend on where it runs: BLAS on more threads may add a product's
    terms in another order (one draw of deepseek-2025's 1,000 differed in the last bits of its
    r̄), so a draw run here computes with BLAS on one thread (the core holds it so for every run),
    as a worker process does, and the caller's setting is back after."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from eventstudy.core import memory

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    design, event = _panel(n_firms=15)
    real = design.at(event).tests
    seen = []
    real_run = memory.run  # the draws of 15 firms run in memory
    monkeypatch.setattr(memory, "run", lambda *a: seen.append(blas_threads()) or real_run(*a))
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        draw_placebo(design, event, 10, 5, real, workers=1)
        assert blas_threads() == before
    assert len(seen) == 10 and all(threads == {1} for threads in seen)


def test_draws_stopped_early_end_their_worker_processes_at_once():
    """An error (or Ctrl-C) in this process while the workers draw: it reaches the caller, and no
    worker is left running the draws already handed out."""
    import multiprocessing

    design, event = _panel(n_firms=15)
    real = design.at(event).tests

    def stop(k, total, label):
        if k == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        draw_placebo(design, event, 40, 5, real, progress=stop, workers=2)
    assert multiprocessing.active_children() == []


def test_moved_events_touching_their_firms_real_events_are_found_as_one_by_one():
    """The search among every real event ordered by firm and session finds exactly the events
    the plain definition names: a moved event within ``reach`` sessions of any real event of its
    own firm (never of another firm's)."""
    from eventstudy.study.drawing import RealEvents

    rng = np.random.default_rng(4)
    firm = rng.integers(0, 30, 400)
    real = rng.integers(0, 600, 400)
    moved = (real + rng.integers(-40, 40, 400)).clip(0, 700)
    by_firm = {f: real[firm == f] for f in np.unique(firm)}
    for reach in (0, 3, 12):
        plain = np.array([any(abs(m - p) <= reach for p in by_firm[f]) for f, m in zip(firm, moved, strict=True)])
        np.testing.assert_array_equal(RealEvents.of(firm, real, reach, 701).near(firm, moved), plain)
        assert 0 < plain.sum() < len(plain)
