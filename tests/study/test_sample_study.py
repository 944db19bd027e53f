"""A study of firm-events on their own dates, from its files: the shipped ex-dividend sample
against answers known independently (the dividend yields), the second stage against a direct
statsmodels fit, and a study file's [events] checked as the rest of the file is."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from eventstudy.core.models import get_model
from eventstudy.data import default_snapshot
from eventstudy.errors import StudyFileError
from eventstudy.report import writer as report
from eventstudy.study.pipeline import run_study
from eventstudy.study.sample import read_events
from eventstudy.study.studyfile import load_study
from eventstudy.study.workspace import shipped_root

EXDIV = shipped_root() / "exdiv-2024"


@pytest.fixture(scope="module")
def price():
    return run_study("exdiv-2024")


@pytest.fixture(scope="module")
def total():
    return run_study(replace(load_study("exdiv-2024"), returns="total"))


def _yields(res) -> pd.Series:
    """Each fitted event's dividend over the previous close, straight from the snapshot."""
    snap = default_snapshot()
    out = {}
    for ev in res.main.events.itertuples():
        frame, _ = snap.prices(ev.ticker)
        pos = frame.index.get_loc(ev.event_date)
        out[ev.event_id] = frame.dividends.iloc[pos] / frame.close.iloc[pos - 1]
    return pd.Series(out)


def test_the_events_file_is_what_its_script_writes(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_events", EXDIV / "make_events.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.ex_dividend_days()
    fresh.to_csv(tmp_path / "events.csv", index=False, float_format="%.10g", lineterminator="\n")
    assert (tmp_path / "events.csv").read_bytes() == (EXDIV / "events.csv").read_bytes()


def test_on_price_returns_the_ex_day_falls_by_the_dividend(price):
    """Mean AR on the ex-day against minus the mean dividend yield of the same events."""
    yields = _yields(price)
    car0 = price.main.car[price.main.car.window == "[0,0]"].set_index("event_id").car
    mean_yield = yields.reindex(car0.index).mean()
    assert 0.004 < mean_yield < 0.012
    assert car0.mean() == pytest.approx(-mean_yield, abs=0.15 * mean_yield)
    slope = price.second_stage["[0,0]"].table.set_index("term").loc["dividend_yield"]
    assert abs(slope.coef + 1) < 2 * slope.se and slope.p < 1e-6  # one dollar of dividend, one dollar of price


def test_on_total_returns_the_ex_day_is_ordinary(total, price):
    car0 = total.main.car[total.main.car.window == "[0,0]"].set_index("event_id").car
    assert abs(car0.mean()) < 0.2 * abs(price.main.car[price.main.car.window == "[0,0]"].car.mean())
    slope = total.second_stage["[0,0]"].table.set_index("term").loc["dividend_yield"]
    assert abs(slope.coef) < 2 * slope.se + 0.1


def test_the_second_stage_is_a_direct_statsmodels_fit(price):
    car = price.main.car[price.main.car.window == "[0,0]"].set_index("event_id").car
    fit = price.main.events.set_index("event_id")
    chars = price.events.set_index("event_id").dividend_yield
    data = pd.concat([car, chars, fit.beta, fit.sigma, fit.event_date], axis=1, join="inner").dropna()
    x = sm.add_constant(data[["dividend_yield", "beta", "sigma"]])
    want = sm.OLS(data.car, x).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data.event_date)[0]})
    got = price.second_stage["[0,0]"].table
    np.testing.assert_allclose(got.coef, want.params, rtol=1e-10)
    np.testing.assert_allclose(got.se, want.bse, rtol=1e-10)
    assert got["cov"].iloc[0].startswith("clustered by event date") and got.n.iloc[0] == len(data)


def test_the_pre_event_market_value_is_the_close_before_day0_times_the_filed_shares(price):
    ev = price.events.set_index("event_id")
    close = default_snapshot().prices("AAPL")[0].close
    filed = 15_115_823_000  # AAPL's cover count in shares_outstanding.csv (as of 2024-10-18)
    assert ev.market_value_bn["AAPL:2024-05-10"] == pytest.approx(close["2024-05-09"] * filed / 1e9, rel=1e-12)
    assert ev.shares_flag["AAPL:2024-05-10"] == "filed after" and ev.shares_flag["AAPL:2024-11-08"] == "filed"
    assert not (price.events.ticker == "GOOG").any()  # an issuer counts once: Alphabet is GOOGL


SMALL = """ticker,date,dividend_yield
GOOG,2024-06-10,0.0025
AAPL,2024-08-12,0.001
QQQ,2024-06-24,0.001
^IXIC,2024-06-24,0.001
MSFT,2024-08-15,0.002
JPM,2024-07-05,0.01
KO,2024-06-14,0.008
XOM,2024-08-15,0.009
CVX,2024-08-19,0.01
"""


def test_etfs_and_indices_are_no_events_and_an_issuer_counts_once(tmp_path):
    res = run_study(_copy(tmp_path, BASE.replace('["yield_band"]', "[]"), events=SMALL))
    rejected = res.rejected.set_index("ticker").reason
    assert rejected.to_dict() == {"QQQ": "an ETF, never a firm", "^IXIC": "an index, not a firm"}
    ev = res.events.set_index("event_id")
    assert ev.ticker["GOOG:2024-06-10"] == "GOOGL"
    assert "GOOG is measured as its issuer's listing GOOGL (an issuer counts once)" in ev.note["GOOG:2024-06-10"]
    assert set(res.main.events.ticker) == {"GOOGL", "AAPL", "MSFT", "JPM", "KO", "XOM", "CVX"}
    both = SMALL + "GOOGL,2024-06-10,0.0025\n"
    once = r"repeated events: 2 rows for 1 firm-event \(by ticker and day 0\): GOOGL on 2024-06-10 on rows 1, 10;"
    with pytest.raises(StudyFileError, match=once):
        run_study(_copy(tmp_path / "b", BASE.replace('["yield_band"]', "[]"), events=both))


def test_the_second_stage_runs_without_characteristics(tmp_path):
    """beta and volatility are characteristics of every event: a study naming none still has
    its second stage."""
    res = run_study(_copy(tmp_path, BASE.replace('["yield_band"]', "[]").replace('["dividend_yield"]', "[]")))
    stage = res.second_stage["[0,0]"]
    assert stage.reason == "" and stage.table.term.tolist() == ["const", "beta", "volatility"]
    car = res.main.car[res.main.car.window == "[0,0]"].set_index("event_id").car
    fit = res.main.events.set_index("event_id")
    data = pd.concat([car, fit.beta, fit.sigma, fit.event_date], axis=1, join="inner").dropna()
    want = sm.OLS(data.car, sm.add_constant(data[["beta", "sigma"]])).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data.event_date)[0]}
    )
    np.testing.assert_allclose(stage.table.coef, want.params, rtol=1e-10)
    np.testing.assert_allclose(stage.fit.bse, want.bse, rtol=1e-10)  # the statsmodels results are kept


def test_the_second_stage_can_take_the_log_market_value(price):
    study = load_study("exdiv-2024")
    sized = run_study(replace(study, events=replace(study.events, characteristics=("log_market_value",))))
    car = sized.main.car[sized.main.car.window == "[0,0]"].set_index("event_id").car
    fit = sized.main.events.set_index("event_id")
    size = np.log(sized.events.set_index("event_id").market_value_bn).rename("size")
    data = pd.concat([car, size, fit.beta, fit.sigma, fit.event_date], axis=1, join="inner").dropna()
    x = sm.add_constant(data[["size", "beta", "sigma"]])
    want = sm.OLS(data.car, x).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data.event_date)[0]})
    got = sized.second_stage["[0,0]"].table
    assert got.term.tolist() == ["const", "log_market_value", "beta", "volatility"]
    np.testing.assert_allclose(got.coef, want.params, rtol=1e-10)
    missing = len(fit) - len(data)
    assert missing > 0 and any(n.startswith(f"{missing} of {len(fit)} fitted events have no") for n in sized.notes)
    assert not any("pre-event market value" in n for n in price.notes)  # not asked for, not noted


def test_a_firms_other_dividends_leave_its_estimation_window(price):
    ev = price.main.events.set_index("event_id")
    assert (ev.n_removed > 0).mean() > 0.5  # quarterly payers: the previous ex-day is 60 sessions back
    from eventstudy.core import calendar

    aapl = ev[ev.ticker == "AAPL"].sort_values("event_date")
    days = calendar.sessions("2023-01-01", "2025-12-31")
    for last in aapl.index:
        p = days.get_loc(aapl.event_date[last])
        est = set(range(p - 120, p - 10))
        others = [days.get_loc(d) for i, d in aapl.event_date.items() if i != last]
        hit = est & {q + k for q in others for k in range(-5, 6)}
        assert aapl.n_removed[last] == len(hit), last  # each other ex-day's [-5,+5] inside [-120,-11]


def test_the_report_of_a_sample(price, tmp_path):
    text = report.write(price, tmp_path / "out").read_text()
    for heading in ("## Sample", "## Group tests", "## The largest and smallest CARs", "## Second stage"):
        assert heading in text
    assert "r̄_eff" in (tmp_path / "out" / "results" / "tests.csv").read_text()
    assert (tmp_path / "out" / "figures" / "car_distribution.png").is_file()
    assert "dividend_yield" in price.summary()


def test_a_sample_on_factors_names_its_regressors_not_a_benchmark(price, tmp_path):
    ff3 = replace(price, main=replace(price.main, model=get_model("ff3")))
    said = "Fama–French 3-factor on excess returns; regressors mkt_rf, smb, hml (Fama–French daily factors)"
    assert said in str(ff3.summary()) and "benchmark `SPY`" not in str(ff3.summary())
    text = report.write(ff3, tmp_path / "out").read_text()
    assert said in text and "benchmark `SPY`" not in text
    assert "market model: R = α + β R_m + ε; benchmark `SPY`; price returns" in str(price.summary())


def test_a_sample_report_prints_the_study_files_notes(price, tmp_path):
    mine = replace(price.study, report=replace(price.study.report, notes=("Our own caveat.",)))
    text = report.write(replace(price, study=mine), tmp_path / "out").read_text()
    sample = text[text.index("## Sample") : text.index("## Method in brief")]
    assert "- Note: Our own caveat." in sample


def test_the_sample_report_counts_the_estimation_returns_other_events_took(price, tmp_path):
    ev = price.main.events
    lost, returns = int((ev.n_removed > 0).sum()), int(ev.n_removed.sum())
    text = report.write(price, tmp_path / "out").read_text()
    assert f"other events: {lost} events lost {returns} estimation returns to them." in text
    none = replace(price, main=replace(price.main, events=ev.assign(n_removed=0)))
    text = report.write(none, tmp_path / "none").read_text()
    assert "other events: no event's estimation window held one." in text and "0 events lost" not in text


def _copy(tmp_path, text: str | None = None, events: str | None = None):
    folder = tmp_path / "s"
    shutil.copytree(EXDIV, folder, ignore=shutil.ignore_patterns("results", "REPORT.md", "*.py"))
    if text is not None:
        (folder / "study.toml").write_text(text)
    if events is not None:
        (folder / "events.csv").write_text(events)
    return folder / "study.toml"


BASE = (EXDIV / "study.toml").read_text()
CLAIM = '\n[[claims]]\nid = "x"\narticle = "a"\nsays = "s"\nmetric = "close_move"\nrule = "not_checkable"\n'
CLAIM += 'ticker = "AAPL"\n'


@pytest.mark.parametrize(
    "edit, field, message",
    [
        (lambda t: t.replace("[study]\n", "[study]\nevent_date = 2025-01-27\n"), "study.event_date", "not both"),
        (
            lambda t: t.replace('group_by = ["yield_band"]', 'group_by = ["sector"]'),
            "events.group_by",
            "no column 'sector'",
        ),
        (lambda t: t.replace('file = "events.csv"', 'file = "missing.csv"'), "events.file", "cannot be read"),
        (
            lambda t: t.replace('["dividend_yield"]', '["dividend_yield", "log_market_value", "size"]'),
            "events.characteristics",
            "no column 'size'",
        ),
        (lambda t: t.replace('returns = "price"', 'returns = "clean"'), "model.returns", "total, price"),
        (
            lambda t: t + CLAIM,
            "claims",
            "a sample",
        ),
        (lambda t: t + '\n[report]\nfocus = "AAPL"\n', "report.focus", "a sample ([events]) draws none"),
        (lambda t: t + '\n[report]\ncolour_groups = ["all"]\n', "report.colour_groups", "draws none"),
        (
            lambda t: t.replace(
                "windows = [[0, 0], [-1, 1]]", 'windows = [[0, 0], { label = "x", start = 0, end = "2025-01-31" }]'
            ),
            "model.windows[1].end",
            "one event date",
        ),
    ],
)
def test_sample_study_file_errors_name_the_field(tmp_path, edit, field, message):
    path = _copy(tmp_path, edit(BASE))
    with pytest.raises(StudyFileError) as err:
        load_study(path)
    assert any(f == field and message in why for f, why in err.value.problems), err.value.problems


def test_a_column_named_like_a_computed_characteristic_is_refused(tmp_path):
    text = (EXDIV / "events.csv").read_text().replace("yield_band\n", "log_market_value\n", 1)
    with pytest.raises(StudyFileError) as err:
        load_study(_copy(tmp_path, BASE.replace('["yield_band"]', "[]"), events=text))
    assert err.value.problems == [
        (
            "events.file",
            "events.csv has a column 'log_market_value', the name of a characteristic eventstudy computes: rename it",
        )
    ]


def test_a_bad_row_of_the_events_file_is_rejected_and_the_rest_run(tmp_path):
    rows = (EXDIV / "events.csv").read_text().splitlines()
    bad = "X:1,NOSUCH,2024-13-45,before_open,1,0.01,over 1%"
    path = _copy(tmp_path, events="\n".join([*rows[:40], bad]) + "\n")
    res = run_study(path)
    assert res.rejected.reason.tolist() == ["the date 2024-13-45 is not a calendar date"]
    assert res.rejected.row.tolist() == [40]
    assert len(res.main.events) > 20


def test_repeated_events_in_the_file_are_refused(tmp_path):
    rows = (EXDIV / "events.csv").read_text().splitlines()
    path = _copy(tmp_path, events="\n".join([*rows[:5], rows[3]]) + "\n")
    with pytest.raises(StudyFileError, match="events.file.*repeated events"):
        run_study(path)
    ids = [r.split(",")[0] for r in rows[1:6]]
    path = _copy(tmp_path / "many", events="\n".join([*rows[:6], *rows[1:6], rows[1]]) + "\n")
    with pytest.raises(StudyFileError) as err:  # each repeated firm-event named with its rows
        run_study(path)
    assert (
        f"repeated events: 11 rows for 5 firm-events (by event_id): {ids[0]} on rows 1, 6, 11; "
        f"{ids[1]} on rows 2, 7; {ids[2]} on rows 3, 8 and 2 more; each firm-event must appear once"
    ) in str(err.value)


def test_tickers_are_read_without_regard_to_case_as_yfinance_reads_them(tmp_path):
    rows = (EXDIV / "events.csv").read_text().splitlines()
    lower = [",".join([r.split(",")[0], r.split(",")[1].lower(), *r.split(",")[2:]]) for r in rows[1:4]]
    got = read_events(load_study(_copy(tmp_path, events="\n".join([rows[0], *lower, *rows[4:]]) + "\n"))).events
    pd.testing.assert_frame_equal(got, read_events(load_study(_copy(tmp_path / "as-is"))).events)
    with pytest.raises(StudyFileError, match="repeated events"):  # aapl and AAPL on one day are one firm-event
        read_events(load_study(_copy(tmp_path / "twice", events="\n".join([rows[0], *lower, *rows[1:]]) + "\n")))


def test_the_five_line_api_gives_the_studys_numbers(price):
    import eventstudy as es

    events = es.build_events(pd.read_csv(EXDIV / "events.csv")).events
    panel = es.load_panel(events, estimation=(-120, -11), path=(-5, 5), benchmark="SPY", returns="price")
    res = es.run_event_study(
        panel.returns,
        panel.regressors,
        events,
        estimation=(-120, -11),
        windows=[(0, 0), (-1, 1)],
        path=(-5, 5),
        min_estimation_obs=80,
    )
    pd.testing.assert_frame_equal(res.car, price.main.car)
    pd.testing.assert_frame_equal(
        res.tests[res.tests.group == "all"], price.main.tests[price.main.tests.group == "all"]
    )


def test_load_panel_refuses_day_first_dates_it_would_have_read_month_first():
    """10/01/2025 is 10 January or 1 October: load_panel read it as October (pandas' guess) and
    loaded another span; it is refused, as run_event_study refuses it."""
    import eventstudy as es

    events = pd.DataFrame({"event_id": ["a"], "ticker": ["AAPL"], "event_date": ["10/01/2025"]})
    with pytest.raises(TypeError, match=r"the event dates \(event_date\) must be dates"):
        es.load_panel(events, estimation=(-120, -11), path=(-5, 5), benchmark="SPY", offline=True)


def test_a_sample_refuses_the_one_date_figures_keys_for_what_they_are(tmp_path):
    path = _copy(tmp_path, BASE + '\n[report]\nfocus = "AAPL"\nmarks_bn = [1.0]\nnotes = ["ours"]\n')
    with pytest.raises(StudyFileError) as err:
        load_study(path)
    assert sorted(f for f, _ in err.value.problems) == ["report.focus", "report.marks_bn"]  # notes are read
    assert not any("not a firm of any group" in why for _, why in err.value.problems)
