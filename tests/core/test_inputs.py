"""The core's inputs read one way: positions are counted in rows, so the rows must be the
sessions in calendar order, once each; a frame newest-first is put in order, never read
backwards, and dates that could be misread are refused with what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.core.engine import run_event_study

from ..helpers import synthetic_panel

DESIGN = dict(estimation=(-120, -11), windows=[(0, 0), (-1, 1)], path=(-5, 5), min_estimation_obs=90)


@pytest.fixture(scope="module")
def panel():
    returns, regressors, events = synthetic_panel(n_firms=8, n_days=260, event_pos=200, injected=0.03)
    later = pd.DataFrame({"event_id": ["late"], "ticker": ["F001"], "event_date": [returns.index[230]]})
    return returns, regressors, pd.concat([events, later], ignore_index=True)


@pytest.mark.parametrize("engine", ["memory", "stream"])
@pytest.mark.parametrize("model", ["market", "dimson"])
def test_a_frame_newest_first_gives_the_numbers_of_the_frame_in_order(panel, engine, model):
    returns, regressors, events = panel
    want = run_event_study(returns, regressors, events, model=model, engine=engine, **DESIGN)
    got = run_event_study(returns.iloc[::-1], regressors.iloc[::-1], events, model=model, engine=engine, **DESIGN)
    pd.testing.assert_frame_equal(got.car, want.car)
    pd.testing.assert_frame_equal(got.tests, want.tests)
    assert want.car.car.notna().all() and len(want.events) == len(events)


def test_dates_written_as_iso_text_are_read_as_those_dates(panel):
    returns, regressors, events = panel
    want = run_event_study(returns, regressors, events, engine="memory", **DESIGN)
    text = returns.set_axis(returns.index.strftime("%Y-%m-%d"))
    got = run_event_study(text, regressors.set_axis(regressors.index.strftime("%Y-%m-%d")), events, **DESIGN)
    pd.testing.assert_frame_equal(got.car, want.car)


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda f: f.set_axis(f.index.strftime("%d/%m/%Y")), r"dates must be dates \(datetime64, or YYYY-MM-DD text\)"),
        (lambda f: f.reset_index(drop=True), r"dates must be dates \(datetime64, or YYYY-MM-DD text\)"),
        (
            lambda f: f.set_axis(f.index.strftime("%Y%m%d").astype(int)),
            r"dates must be dates \(datetime64, or YYYY-MM-DD text\)",
        ),
        (lambda f: f.tz_localize("America/New_York"), r"dates carry a time zone \(America/New_York\)"),
        (lambda f: f.set_axis(f.index + pd.Timedelta("16h")), r"dates carry a time of day \(first 2020-01-01 16:00"),
        (lambda f: pd.concat([f, f.iloc[[5]]]), r"have 1 date more than once \(first 2020-01-08\)"),
        (lambda f: f.set_axis(f.index.where(np.arange(len(f)) != 3)), r"have a row without a date"),
    ],
)
@pytest.mark.parametrize("which", ["returns", "regressors"])
def test_dates_that_could_be_misread_are_refused(panel, change, problem, which):
    returns, regressors, events = panel
    if which == "returns":
        returns = change(returns)
    else:
        regressors = change(regressors)
    with pytest.raises((TypeError, ValueError), match=f"^{which}'? {problem}"):
        run_event_study(returns, regressors, events, **DESIGN)


def test_a_minimum_beyond_the_estimation_window_is_refused_not_every_firm_excluded(panel):
    returns, regressors, events = panel
    with pytest.raises(
        ValueError, match=r"from 1 to 110, the sessions of the estimation window \[-120, -11\]; got 120"
    ):
        run_event_study(returns, regressors, events, estimation=(-120, -11))  # the default minimum, 120
    res = run_event_study(returns, regressors, events, estimation=(-120, -11), min_estimation_obs=np.int64(110))
    assert len(res.events) == len(events) - 1  # the later event of F001 loses its first event's days
    assert res.excluded.reason.str.startswith("89 valid returns in the estimation window [-120,-11]").all()


@pytest.mark.parametrize("model", ["market", "market-adjusted", "constant-mean"])
def test_a_fit_without_residual_variance_is_excluded_by_both_engines(panel, model):
    """A firm whose returns are its benchmark, an exact line in it, or a suspended stock's
    zeros has no residual variance: σ̂² is rounding, which the two engines compute differently,
    so both exclude it (never one keeping it with a SAR of rounding over rounding)."""
    returns, regressors, events = panel
    returns = returns.assign(F000=regressors.mkt, F001=2 * regressors.mkt + 0.001, F002=0.0)
    runs = {
        e: run_event_study(returns, regressors, events, model=model, engine=e, **DESIGN) for e in ("memory", "stream")
    }
    degenerate = {"market": {"F000", "F001", "F002"}, "market-adjusted": {"F000"}, "constant-mean": {"F002"}}[model]
    for res in runs.values():
        gone = res.excluded[res.excluded.stage == "estimation"]
        assert set(gone.ticker) == degenerate
        assert (gone.reason == "singular regressors or zero residual variance").all()
    tests = [r.tests.set_index(["window", "test"]).stat.drop(index="corrado-zivney", level=1) for r in runs.values()]
    np.testing.assert_allclose(tests[0], tests[1], rtol=1e-10, atol=1e-12)


def test_the_excluded_frame_is_the_same_whichever_engine_runs(panel):
    """An unknown ticker, a firm without returns, a firm-event short of estimation days and two
    with a missing return in a window, listed in the sample's order (here not the calendar's),
    each one's estimation before its windows: the frame ``auto`` gives does not change with the
    engine it picks."""
    returns, regressors, events = panel
    returns = returns.assign(F003=np.nan)
    returns.iloc[200, 4] = np.nan  # F004 on day 0
    returns.iloc[201, 5] = np.nan  # F005 on day +1
    events = pd.concat(
        [events, pd.DataFrame({"event_id": ["zz"], "ticker": ["ZZZ"], "event_date": [returns.index[200]]})]
    )
    events = events.iloc[::-1].reset_index(drop=True)
    runs = [run_event_study(returns, regressors, events, engine=e, **DESIGN).excluded for e in ("memory", "stream")]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert runs[0][["event_id", "stage"]].values.tolist() == [
        ["zz", "align"],
        ["F005", "window [-1,+1]"],
        ["F004", "window [0,0]"],
        ["F004", "window [-1,+1]"],
        ["F003", "estimation"],
    ]


@pytest.mark.parametrize(
    "dates, problem",
    [
        (["08/10/2020", "09/10/2020"], r"must be dates \(datetime64, or YYYY-MM-DD text\); got \['08/10/2020'"),
        ([20201008, 20201009], r"must be dates \(datetime64, or YYYY-MM-DD text\); got \[20201008"),
        (
            pd.to_datetime(["2020-10-08 16:00", "2020-10-09 00:00"]),
            r"carry a time of day \(first 2020-10-08 16:00:00\)",
        ),
        (pd.to_datetime(["2020-10-08", "2020-10-09"]).tz_localize("UTC"), r"carry a time zone \(UTC\)"),
    ],
)
def test_event_dates_that_could_be_misread_are_refused(panel, dates, problem):
    """8/10/2020 is 8 October or 10 August: never guessed (the ISO text and dates are read)."""
    returns, regressors, _ = panel
    events = pd.DataFrame({"event_id": ["a", "b"], "ticker": ["F000", "F001"], "event_date": dates})
    with pytest.raises((TypeError, ValueError), match=r"^the event dates \(event_date\) " + problem):
        run_event_study(returns, regressors, events, **DESIGN)


def test_event_dates_as_text_or_date_objects_are_those_days_and_a_missing_one_says_so(panel):
    returns, regressors, _ = panel
    days = returns.index[[200, 230]]
    want = run_event_study(
        returns,
        regressors,
        pd.DataFrame({"event_id": ["a", "b"], "ticker": ["F000", "F001"], "event_date": days}),
        **DESIGN,
    )
    for given in (days.strftime("%Y-%m-%d"), list(days.date)):
        events = pd.DataFrame({"event_id": ["a", "b"], "ticker": ["F000", "F001"], "event_date": given})
        pd.testing.assert_frame_equal(run_event_study(returns, regressors, events, **DESIGN).car, want.car)
    events = pd.DataFrame({"event_id": ["a", "b"], "ticker": ["F000", "F001"], "event_date": [pd.NaT, days[1]]})
    res = run_event_study(returns, regressors, events, **DESIGN)
    assert res.excluded.set_index("event_id").reason.to_dict() == {"a": "the event date is missing"}
