"""Samples of firm-events on different dates: day 0 from a table, estimation windows that leave
out a firm's other events, the overlap-weighted r̄, GRANK and the calendar-time portfolio test,
each against a value known independently."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from eventstudy.core.engine import run_event_study
from eventstudy.core.inference import parametric, rank, rbar, sample
from eventstudy.core.windows import Window
from eventstudy.study.events import build_events
from eventstudy.study.secondstage import second_stage

from ..helpers import REPO, synthetic_panel

SIZE_SCRIPT = REPO / "benchmarks" / "size_samples.py"

T = pd.Timestamp
EST, WIN, PATH = Window(-100, -11), Window(-1, 1), Window(-5, 5)
KW = dict(estimation=EST, windows=[Window(0, 0), WIN], path=PATH, min_estimation_obs=60)


# --- day 0 from a table ----------------------------------------------------------------------


def test_day0_follows_the_session_rules():
    table = pd.DataFrame(
        {
            "ticker": ["A", "B", "C", "D", "E", "F"],
            "date": ["2025-01-25", "2025-01-20", "2025-01-24", "2025-01-08", "2025-01-27", "2025-01-17"],
            "time": ["during", "before_open", "after_close", "after_close", None, "after_close"],
            "sector": list("uvwxyz"),
        }
    )
    got = build_events(table).events.set_index("ticker")
    assert got.event_date.to_dict() == {
        "A": T("2025-01-27"),  # Saturday → Monday
        "B": T("2025-01-21"),  # Martin Luther King day → Tuesday
        "C": T("2025-01-27"),  # Friday after the close → Monday
        "D": T("2025-01-10"),  # after the close, and 9 January was a national day of mourning
        "E": T("2025-01-27"),  # no time: before the open
        "F": T("2025-01-21"),  # Friday after the close, before a holiday Monday
    }
    assert got.note["A"] == "2025-01-25 (Sat) is not a session: day 0 is 2025-01-27"
    assert got.note["C"] == "after the close: day 0 is the next session, 2025-01-27"
    assert got.note["E"] == "" and got.sector["D"] == "x" and got.event_id["A"] == "A:2025-01-25"


def test_the_earnings_calendars_time_codes_read_as_the_times_they_name():
    """BMO, DMH (or DMT) and AMC, in any case, and the names in any case: the same day 0 as
    before_open, during and after_close (a Friday after the close is Monday)."""
    codes = ["BMO", "dmh", "DMT", "AMC", "After_Close", " before_open "]
    table = pd.DataFrame({"ticker": list("ABCDEF"), "date": "2025-01-24", "time": codes})
    got = build_events(table).events.set_index("ticker")
    assert got.time.sort_index().tolist() == [
        "before_open",
        "during",
        "during",
        "after_close",
        "after_close",
        "before_open",
    ]
    friday, monday = T("2025-01-24"), T("2025-01-27")
    assert got.event_date.sort_index().tolist() == [friday] * 3 + [monday] * 2 + [friday]


def test_build_events_reads_a_table_with_its_own_column_names():
    own = pd.DataFrame(
        {"PERMNO": ["10107", "14593"], "event_date": ["2025-01-24", "2025-01-24"], "when": ["bmo", "amc"]}
    )
    plain = own.set_axis(["ticker", "date", "time"], axis=1)
    got = build_events(own, columns={"ticker": "permno", "date": "event_date", "time": "when"}).events
    pd.testing.assert_frame_equal(got, build_events(plain).events)
    with pytest.raises(ValueError, match="ticker = 'isin' is not a column"):
        build_events(own, columns={"ticker": "isin"})


def test_rows_that_cannot_be_used_are_listed_with_their_reason():
    table = pd.DataFrame(
        {
            "ticker": ["A", "", "C", "D"],
            "date": ["2025-01-27", "2025-01-27", "soon", "2025-01-27 16:30"],
            "time": ["at lunch", "during", "during", "during"],
        }
    )
    out = build_events(table)
    assert out.events.empty
    assert out.rejected.set_index("row").reason.to_dict() == {
        1: "time must be one of before_open, during, after_close (or BMO, DMH, AMC): got at lunch",
        2: "no ticker",
        3: "the date soon is not YYYY-MM-DD (or YYYYMMDD): set [events] date_format to read dates written another way"
        ' (e.g. "%d/%m/%Y")',
        4: "the date carries a time of day: give the day in date and before_open/during/after_close in time",
    }


@pytest.mark.parametrize(
    "table, message",
    [
        (
            pd.DataFrame({"ticker": ["A", "A"], "date": ["2025-01-25", "2025-01-27"]}),
            "2 rows for 1 firm-event \\(by ticker and day 0\\): A on 2025-01-27 on rows",
        ),
        (
            pd.DataFrame({"ticker": ["A", "B"], "date": ["2025-01-24", "2025-01-27"], "event_id": ["x", "x"]}),
            "2 rows for 1 firm-event \\(by event_id\\): x on rows",
        ),
        (pd.DataFrame({"symbol": ["A"], "date": ["2025-01-24"]}), "needs the columns \\['ticker', 'date'\\]"),
    ],
)
def test_repeated_events_and_missing_columns_are_refused(table, message):
    with pytest.raises(ValueError, match=message):
        build_events(table)


# --- estimation windows without the firm's other events ---------------------------------------


def _two_events_of_one_firm(gap: int):
    returns, regressors, _ = synthetic_panel(n_firms=3, n_days=260, event_pos=250, seed=11)
    first, second = returns.index[240 - gap], returns.index[240]
    returns.loc[first, "F000"] += 0.25  # a large effect on the first event day
    events = pd.DataFrame(
        {
            "event_id": ["early", "late", "other"],
            "ticker": ["F000", "F000", "F001"],
            "event_date": [first, second, second],
        }
    )
    return returns, regressors, events


def test_another_event_of_the_firm_leaves_the_estimation_window_by_exactly_its_days():
    """The late event's estimation window [-100,-11] holds the early event 40 sessions before:
    its span [-5,+5] (11 days) is removed, and the fit is OLS on the remaining days."""
    returns, regressors, events = _two_events_of_one_firm(gap=40)
    res = run_event_study(returns, regressors, events, **KW)
    row = res.events.set_index("event_id").loc["late"]
    assert row.n_removed == 11 and row.n_est == 90 - 11
    assert res.events.set_index("event_id").n_removed[["early", "other"]].tolist() == [0, 0]
    pos = returns.index.get_loc(row.event_date)
    est = returns.index[pos - 100 : pos - 10]
    early = returns.index.get_loc(events.event_date[0])
    keep = est.difference(returns.index[early - 5 : early + 6])
    ols = sm.OLS(returns.loc[keep, "F000"], sm.add_constant(regressors.mkt.loc[keep])).fit()
    np.testing.assert_allclose([row.alpha, row.beta], ols.params.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(row.sigma, np.sqrt(ols.scale), atol=1e-12)
    kept = run_event_study(returns, regressors, events, **KW, exclude_other_events=False)
    assert kept.events.set_index("event_id").loc["late"].n_est == 90  # the switch is honoured
    assert kept.events.set_index("event_id").loc["late"].sigma > 1.5 * row.sigma  # the 25 % day inflates σ̂
    short = run_event_study(returns, regressors, events, **(KW | {"min_estimation_obs": 85}))
    why = short.excluded.set_index("event_id").reason["late"]
    assert why == (
        "79 valid returns in the estimation window [-100,-11] (11 left out: the firm's other events); "
        "85 are needed (min_estimation_obs)"
    )


def test_an_event_beyond_the_estimation_window_removes_nothing():
    returns, regressors, events = _two_events_of_one_firm(gap=120)
    res = run_event_study(returns, regressors, events, **KW)
    assert (res.events.n_removed == 0).all()


# --- the overlap-weighted r̄ -------------------------------------------------------------------


def _residuals(n=12, length=80, seed=0, missing=0.0):
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(1, length))
    x = 0.5 * common + rng.normal(size=(n, length))
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return x


def _event_time(resid, positions, span):
    """Residuals laid out as the engine holds them: estimation days, then ``span`` event days."""
    n, length = resid.shape
    ar = np.concatenate([resid, np.zeros((n, span))], axis=1)
    est = np.zeros(ar.shape, bool)
    est[:, :length] = np.isfinite(resid)
    return ar, est


def test_r_eff_is_kolari_pynnonens_r_when_all_dates_coincide():
    resid = _residuals()
    ar, est = _event_time(resid, None, 3)
    sums = rbar.overlap_sums(ar, est, np.zeros(len(ar), int), span=3)
    assert rbar.overlap_rbar(sums, len(ar), 3) == pytest.approx(rbar.mean_residual_correlation(resid), abs=1e-12)


def test_r_eff_is_zero_when_windows_never_meet():
    resid = _residuals()
    ar, est = _event_time(resid, None, 3)
    positions = np.arange(len(ar)) * 3  # windows of 3 sessions, back to back
    sums = rbar.overlap_sums(ar, est, positions, span=3)
    assert np.abs(sums).max() < 1e-12 and rbar.overlap_rbar(sums, len(ar), 3) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("missing", [0.0, 0.004, 0.05], ids=["complete", "a few gaps", "many gaps"])
def test_r_eff_equals_a_brute_force_computation_on_calendar_dates(missing):
    """Every pair by hand: residuals put on calendar sessions, ρ by pandas over the common
    sessions (0 below 30 of them), o_ij from the two windows' session sets. Complete rows take
    the sum identity, rows with gaps the pairwise path, and a mix both."""
    rng = np.random.default_rng(5)
    n, length, w0, w1 = 15, 80, -1, 2  # estimation days -90..-11, window [-1,+2]
    resid = _residuals(n, length, seed=5, missing=missing)
    positions = rng.integers(200, 240, n)
    days = np.r_[np.arange(-90, -10), np.arange(w0, w1 + 1)]
    ar = np.concatenate([resid, np.zeros((n, w1 - w0 + 1))], axis=1)
    est = np.zeros(ar.shape, bool)
    est[:, :length] = np.isfinite(resid)
    by_date = [pd.Series(resid[i], index=positions[i] + days[:length]) for i in range(n)]
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            both = pd.concat([by_date[i], by_date[j]], axis=1).dropna()
            rho = both.corr().iloc[0, 1] if len(both) >= 30 else 0.0
            wi = set(positions[i] + np.arange(w0, w1 + 1))
            wj = set(positions[j] + np.arange(w0, w1 + 1))
            total += rho * len(wi & wj) / np.sqrt(len(wi) * len(wj))
    want = total / (n * (n - 1))
    sums = rbar.overlap_sums(ar, est, positions, span=w1 - w0 + 1)
    assert rbar.overlap_rbar(sums, n, w1 - w0 + 1) == pytest.approx(want, abs=1e-12)
    s = sample.Sample.build(
        np.zeros(n), np.zeros(n), np.full(n, 78), ar, est, days >= w0, None, days=days, positions=positions
    )
    assert s.rbar == pytest.approx(want, abs=1e-12)


# --- GRANK and the calendar-time portfolio, by hand ---------------------------------------


def _tiny_sample():
    """Three firm-events, four estimation days (one missing), a two-day window; dates 0, 1, 5."""
    ar = np.array(
        [
            [0.01, -0.02, 0.03, 0.00, 0.02, 0.04],
            [-0.01, 0.02, np.nan, 0.01, -0.03, 0.05],
            [0.02, 0.01, -0.01, -0.02, 0.06, 0.01],
        ]
    )
    days = np.array([-6, -5, -4, -3, 0, 1])
    est = np.isfinite(ar) & (days < 0)
    window = days >= 0
    sigma = np.array([0.02, 0.015, 0.03])
    car = ar[:, window].sum(axis=1)
    scar = car / (sigma * np.sqrt(2.2))
    s = sample.Sample.build(
        car, scar, np.array([2, 1, 2]), ar, est, window, None, days=days, positions=np.array([10, 11, 15]), sigma=sigma
    )
    return s, ar, days, est, sigma, scar


def test_grank_by_hand():
    s, ar, days, est, sigma, scar = _tiny_sample()
    values = np.column_stack([np.where(est, ar / sigma[:, None], np.nan)[:, :4], scar / np.std(scar, ddof=1)])
    u = np.full(values.shape, np.nan)
    for i, row in enumerate(values):
        ok = np.isfinite(row)
        u[i, ok] = stats.rankdata(row[ok]) / (ok.sum() + 1) - 0.5
    n_t = np.isfinite(u).sum(axis=0)
    ubar = np.nanmean(u, axis=0)
    big_t = 5  # four estimation days and the cumulative event day
    s_u = np.sqrt(sum(n_t[t] / 3 * ubar[t] ** 2 for t in range(big_t)) / big_t)
    z = ubar[-1] / s_u
    t = z * np.sqrt((big_t - 2) / (big_t - 1 - z**2))
    got = rank.grank(s)
    assert got.stat == pytest.approx(t, abs=1e-12) and got.dist == "t(3)"
    assert got.pvalue == pytest.approx(2 * stats.t.sf(abs(t), 3), abs=1e-12)


def test_calendar_time_by_hand():
    """Windows [0,+1] at sessions 10–11, 11–12 and 15–16: session 11 averages two events."""
    s, ar, *_ = _tiny_sample()
    daily = {10: ar[0, 4], 11: (ar[0, 5] + ar[1, 4]) / 2, 12: ar[1, 5], 15: ar[2, 4], 16: ar[2, 5]}
    x = np.array(list(daily.values()))
    t = x.mean() / (x.std(ddof=1) / np.sqrt(5))
    got = parametric.calendar_time(s)
    assert got.stat == pytest.approx(t, abs=1e-12) and got.dist == "t(4)" and got.detail == "5 calendar sessions"


def test_the_sample_tests_join_when_dates_differ():
    returns, regressors, _ = synthetic_panel(n_firms=20, n_days=200, event_pos=190, seed=3)
    dates = returns.index[np.random.default_rng(3).integers(130, 190, 20)]
    events = pd.DataFrame({"event_id": returns.columns, "ticker": returns.columns, "event_date": dates})
    res = run_event_study(returns, regressors, events, **KW)
    assert {"grank", "calendar-time"} <= set(res.tests.test)
    kp = res.test("all", "[-1,+1]", "kolari-pynnonen")
    assert kp.detail.startswith("r̄_eff = ")
    one = run_event_study(returns, regressors, events.assign(event_date=dates[0]), **KW)
    assert "grank" in set(one.tests.test) and "calendar-time" not in set(one.tests.test)


def _size_script():
    spec = importlib.util.spec_from_file_location("size_samples", SIZE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def overlapping_size():
    """The README's size simulation, smaller: events on 10 consecutive sessions, ρ = 0.3."""
    return _size_script().rejection_rates("overlapping", draws=150, n=40, rho=0.3)


@pytest.mark.parametrize("test", ["kolari-pynnonen", "calendar-time"])
def test_the_tests_robust_apart_hold_size_when_windows_partly_overlap(overlapping_size, test):
    """150 draws: a binomial 99.9 % band around 5 % reaches about 11 %."""
    assert overlapping_size[test] <= 0.11


@pytest.mark.parametrize("test", ["portfolio", "grank", "csect-t", "patell", "bmp"])
def test_the_other_tests_over_reject_when_windows_partly_overlap(overlapping_size, test):
    """The reason they are not marked robust for such samples (README: 20–40 % at 5 %)."""
    assert overlapping_size[test] >= 0.13


def test_robust_marks_the_tests_that_hold_for_the_design():
    returns, regressors, _ = synthetic_panel(n_firms=20, n_days=200, event_pos=190, seed=3)
    dates = returns.index[np.random.default_rng(3).integers(130, 190, 20)]
    events = pd.DataFrame({"event_id": returns.columns, "ticker": returns.columns, "event_date": dates})
    apart = run_event_study(returns, regressors, events, **KW).tests
    assert set(apart[apart.robust].test) == {"kolari-pynnonen", "calendar-time"}
    one = run_event_study(returns, regressors, events.assign(event_date=dates[0]), **KW).tests
    # on one date: the tests robust to cross-correlation and to event-induced variance both
    assert set(one[one.robust].test) == {"kolari-pynnonen", "grank", "corrado-zivney"}
    correlation = {
        "kolari-pynnonen",
        "grank",
        "portfolio",
        "corrado-rank",
        "corrado-zivney",
        "patell-kp",
        "permutation",
    }
    variance = {"kolari-pynnonen", "grank", "csect-t", "bmp", "generalized-sign", "corrado-zivney", "wilcoxon"}
    assert set(one[one.robust_correlation].test) == correlation
    assert set(one[one.robust_variance].test) == variance | {"skewness-t"}


def test_the_summary_of_a_large_sample_lists_its_extremes_and_counts_its_exclusions():
    returns, regressors, _ = synthetic_panel(n_firms=40, n_days=200, event_pos=190, seed=5)
    dates = returns.index[np.random.default_rng(5).integers(130, 190, 40)]
    events = pd.DataFrame({"event_id": [f"e{i}" for i in range(40)], "ticker": returns.columns, "event_date": dates})
    res = run_event_study(returns, regressors, events, **KW)
    text = res.summary().as_text()
    cars = res.car[res.car.window == "[0,0]"].set_index("event_id").car.dropna()
    assert f"the 10 largest and 10 smallest of {len(cars)} (all in .car)" in text
    listed = [w[0] for line in text.splitlines() if (w := line.split()) and w[0] in set(events.event_id)]
    assert set(listed) == set(cars.nlargest(10).index) | set(cars.nsmallest(10).index)
    thin = returns.copy()
    thin.iloc[:120, :35] = np.nan  # 35 firms listed late: too few estimation returns
    short = run_event_study(thin, regressors, events, **KW)
    text = short.summary().as_text()
    assert "Excluded, by reason (all 35 in .excluded)" in text
    have = short.excluded.reason.str.extract(r"^(\d+) valid")[0].astype(int)  # one row, each count's range
    assert have.min() < have.max() and text.splitlines()[-1].split()[-1] == "35"
    assert f"{have.min()}–{have.max()} valid returns" in text.splitlines()[-1]


# --- the API's inputs -----------------------------------------------------------------------


def test_windows_as_pairs_and_the_market_as_a_series():
    returns, regressors, events = synthetic_panel(n_firms=4, seed=1)
    a = run_event_study(returns, regressors, events, windows=[Window(0, 0), Window(-1, 1)])
    b = run_event_study(returns, regressors.mkt, events, windows=[(0, 0), (-1, 1)])
    pd.testing.assert_frame_equal(a.car, b.car)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(windows=[(0, "1")]), "a window is a Window or a \\(start, end\\) pair of integers; got \\(0, '1'\\)"),
        (
            dict(groups={"g": ["F000", "NOPE"]}),
            "group 'g' names 1 id\\(s\\) that are no event_id of the events: \\['NOPE'\\]",
        ),
        (dict(events=pd.DataFrame({"ticker": ["F000"]})), "events must be a DataFrame with columns"),
        (dict(regressors=np.zeros(3)), "regressors must be a DataFrame"),
    ],
)
def test_wrong_inputs_are_clear_errors(change, message):
    returns, regressors, events = synthetic_panel(n_firms=4, seed=1)
    kw = dict(regressors=regressors, events=events) | change
    with pytest.raises((TypeError, ValueError), match=message):
        run_event_study(returns, kw.pop("regressors"), kw.pop("events"), **kw)


def test_pairs_with_an_event_of_a_subset_are_the_pairs_of_all_that_touch_it():
    rng = np.random.default_rng(9)
    positions = rng.integers(0, 30, 40)
    among = rng.random(40) < 0.3
    every = set(zip(*rbar.overlap_pairs(positions, 4), strict=True))
    assert all(abs(positions[i] - positions[j]) < 4 and positions[i] <= positions[j] for i, j in every)
    want = {(i, j) for i, j in every if among[i] or among[j]}
    got = list(zip(*rbar.overlap_pairs(positions, 4, among=among), strict=True))
    assert len(got) == len(set(got)) and {tuple(sorted(p)) for p in got} == {tuple(sorted(p)) for p in want}
    brute = {(i, j) for i in range(40) for j in range(i + 1, 40) if abs(positions[i] - positions[j]) < 4}
    assert {tuple(sorted(p)) for p in every} == brute


# --- the second stage, by construction ------------------------------------------------------


def _stage_data(n: int, dates: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"e{i}" for i in range(n)], name="event_id")
    z = pd.DataFrame({"size": rng.normal(size=n), "surprise": rng.normal(size=n)}, index=ids)
    car = pd.Series(0.01 + 0.02 * z.surprise + rng.normal(0, 0.01, n), index=ids)
    day = pd.Series(pd.bdate_range("2024-01-02", periods=dates)[rng.integers(0, dates, n)], index=ids)
    return car, z, day


def test_the_second_stage_recovers_an_injected_slope_with_t_on_dates_minus_one():
    car, z, day = _stage_data(400, 40)
    got = second_stage(car, z, day, "[0,0]", ["size", "surprise"]).table.set_index("term")
    assert abs(got.coef["surprise"] - 0.02) < 3 * got.se["surprise"] and got.p["surprise"] < 1e-6
    g = day.nunique()
    assert got.p["size"] == pytest.approx(2 * stats.t.sf(abs(got.t["size"]), g - 1), rel=1e-10)
    assert got["cov"].iloc[0] == f"clustered by event date ({g} dates)"


def test_the_second_stage_refuses_fewer_dates_than_coefficients():
    car, z, day = _stage_data(30, 3)
    stage = second_stage(car, z, day, "[0,0]", ["size", "surprise"])
    assert stage.table.empty and stage.reason.startswith("3 event dates for 3 coefficients")
    assert "not run" in stage.summary()


def test_the_second_stage_of_distinct_dates_is_hc1():
    car, z, _ = _stage_data(12, 12)
    day = pd.Series(pd.bdate_range("2024-01-02", periods=12), index=car.index)
    got = second_stage(car, z, day, "[0,0]", ["size", "surprise"])
    want = sm.OLS(car, sm.add_constant(z)).fit(cov_type="HC1")
    np.testing.assert_allclose(got.table.se, want.bse, rtol=1e-12)
    assert got.table["cov"].iloc[0] == "HC1"
