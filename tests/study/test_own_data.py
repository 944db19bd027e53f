"""Studies on their own files ([data]): the shipped CRSP-layout example equals the same study
run from the snapshot; files matched to events by identifier and date; bad files named."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

import eventstudy as es
from eventstudy.cli import main
from eventstudy.core.tables import money_bn
from eventstudy.errors import DataFileError, StudyFileError
from eventstudy.report.text import _model_line
from eventstudy.study.dollars import UNVALUED
from tests.helpers import REPO

EXAMPLE = REPO / "analyses" / "crsp-format-example"


@pytest.fixture
def example(tmp_path):
    """A copy of the shipped example (its files and study file)."""
    for f in ("dsf.csv", "dsi.csv", "stocknames.csv", "study.toml"):
        shutil.copy(EXAMPLE / f, tmp_path / f)
    return tmp_path


def from_snapshot(text: str) -> str:
    """The example's study file without [data]: the same firms and design on the snapshot."""
    text = re.sub(r"^\[data\].*?\n\n", "", text, flags=re.S | re.M)
    return text.replace('benchmark = "spy"', 'benchmark = "SPY"').replace('indices = ["qqq"]', 'indices = ["QQQ"]')


def test_crsp_layout_equals_the_snapshot_study(example, tmp_path_factory):
    snap = tmp_path_factory.mktemp("snap")
    (snap / "study.toml").write_text(from_snapshot((example / "study.toml").read_text()))
    a, b = es.run_study(str(example / "study.toml")), es.run_study(str(snap / "study.toml"))
    for name in ("ar", "car", "tests"):
        x, y = getattr(a.main, name), getattr(b.main, name)
        assert x.shape == y.shape and len(x)
        num = x.select_dtypes("number").columns
        assert np.allclose(x[num].to_numpy(float), y[num].to_numpy(float), rtol=0, atol=1e-10, equal_nan=True)
        assert (x.drop(columns=num).astype(str).to_numpy() == y.drop(columns=num).astype(str).to_numpy()).all()
    prov = a.provenance.set_index("ticker")
    assert prov.loc["NVDA", "origin"] == "file dsf.csv" and len(prov.loc["NVDA", "sha256"]) == 64
    assert prov.loc["", "role"] == "names"


def test_identifier_absent_from_the_file_is_excluded_with_its_reason(example):
    text = (example / "study.toml").read_text().replace('"TSLA"]', '"TSLA", "NOPE"]')
    (example / "study.toml").write_text(text)
    res = es.run_study(str(example / "study.toml"))
    why = dict(zip(res.excluded.ticker, res.excluded.reason, strict=True))
    assert why["NOPE"] == "no identifier in stocknames.csv for the ticker NOPE on 2025-01-27"


def test_market_series_missing_on_the_event_day(example):
    market = pd.read_csv(example / "dsi.csv")
    market.loc[market.DATE == 20250127, "spy"] = np.nan
    market.to_csv(example / "dsi.csv", index=False)
    before = (example / "dsi.csv").read_bytes()
    with pytest.raises(DataFileError, match=r"dsi.csv \(column spy\): the market series has no value on 1 session"):
        es.run_study(str(example / "study.toml"))
    assert (example / "dsi.csv").read_bytes() == before


@pytest.mark.parametrize("units", ["percent", "decimal"])
def test_a_market_file_in_other_units_than_the_returns_is_refused(example, units):
    """units is the returns' and the market file's: a market series left in decimals beside
    returns in percent (or the reverse) would put the day's market move off by 100 (and β), so
    it is refused; the returns file, read first, is in the units said."""
    dsf, dsi = pd.read_csv(example / "dsf.csv", dtype=str), pd.read_csv(example / "dsi.csv")
    if units == "percent":  # the returns in percent, the market left in decimals
        dsf["RET"] = (pd.to_numeric(dsf.RET, errors="coerce") * 100).astype(str)
        dsf.to_csv(example / "dsf.csv", index=False)
    else:  # the returns in decimals, the market in percent
        dsi[["spy", "qqq"]] *= 100
        dsi.to_csv(example / "dsi.csv", index=False)
    text = (example / "study.toml").read_text()
    (example / "study.toml").write_text(text.replace('calendar = "XNYS"', f'calendar = "XNYS"\nunits = "{units}"'))
    other = "decimals" if units == "percent" else "percent"
    with pytest.raises(DataFileError, match=rf"dsi.csv \(column spy\): the market series 'spy' looks like {other}"):
        es.run_study(str(example / "study.toml"))


def test_study_file_problems_of_the_data_table(example):
    text = (example / "study.toml").read_text()
    bad = text.replace(
        'calendar = "XNYS"', 'calendar = "XNOPE"\nunits = "basis points"\nsurprise = 1\ncurrency = "pounds"'
    )
    (example / "study.toml").write_text(bad)
    with pytest.raises(StudyFileError) as err:
        es.load_study(str(example / "study.toml"))
    msg = str(err.value)
    assert "data.surprise" in msg and "data.units" in msg and "'XNOPE' is not an exchange calendar" in msg
    assert "data.currency': must be an ISO 4217 code of three capitals" in msg


def test_sample_on_own_files_matches_reused_tickers_on_their_dates(example):
    names = pd.read_csv(example / "stocknames.csv")
    # MU's identifier is named "NEWT" from 2025 on and AMD's "NEWT" before: one ticker, two firms
    names.loc[names.TICKER == "MU", "NAMEDT"] = 20250101
    extra = names[names.TICKER == "AMD"].assign(TICKER="NEWT", NAMEDT=20231002, NAMEENDT=20241231)
    names.loc[names.TICKER == "AMD", "NAMEDT"] = 20250101
    mu = names[names.TICKER == "MU"].assign(TICKER="NEWT")
    names = pd.concat([names[names.TICKER != "MU"], mu, extra]).sort_values(["PERMNO", "NAMEDT"])
    names.to_csv(example / "stocknames.csv", index=False)
    pd.DataFrame({"event_id": ["a", "b", "c"], "ticker": ["NEWT", "NEWT", "NVDA"]}).assign(
        date=["2024-10-29", "2025-01-27", "2025-01-27"]
    ).to_csv(example / "events.csv", index=False)
    text = (example / "study.toml").read_text()
    head = text[: text.index("[model]")].replace("event_date = 2025-01-27\n", "")
    (example / "study.toml").write_text(head + '[events]\nfile = "events.csv"\n\n[model]\nbenchmark = "spy"\n')
    res = es.run_study(str(example / "study.toml"))
    tickers = dict(zip(res.main.events.event_id, res.main.events.ticker, strict=True))
    assert tickers == {"a": "NEWT#90007", "b": "NEWT#90008", "c": "NVDA"}  # AMD's PERMNO, then MU's
    direct = pd.read_csv(example / "dsf.csv")
    amd = direct[(direct.PERMNO == 90007) & (direct.DATE == 20241029)].RET.astype(float).iloc[0]
    ar = res.main.ar[(res.main.ar.event_id == "a") & (res.main.ar.day == 0)]
    fitted = res.main.events.set_index("event_id").loc["a"]
    spy = pd.read_csv(example / "dsi.csv").set_index("DATE").spy.astype(float)[20241029]
    assert np.isclose(ar.ar.iloc[0], amd - fitted.alpha - fitted.beta * spy, atol=1e-12)


def _sample(example, rows: dict[str, tuple[str, str]]) -> es.SampleResults:
    """The example's data under a sample of ``rows`` (event_id → ticker, date)."""
    ids, pairs = list(rows), list(rows.values())
    pd.DataFrame({"event_id": ids, "ticker": [t for t, _ in pairs], "date": [d for _, d in pairs]}).to_csv(
        example / "events.csv", index=False
    )
    text = (example / "study.toml").read_text()
    head = text[: text.index("[model]")].replace("event_date = 2025-01-27\n", "")
    (example / "study.toml").write_text(head + '[events]\nfile = "events.csv"\n\n[model]\nbenchmark = "spy"\n')
    return es.run_study(str(example / "study.toml"))


def test_a_names_files_tickers_are_read_without_regard_to_case(example):
    res = _sample(example, {"a": ("nvda", "2024-12-02"), "b": ("NVDA", "2025-01-27"), "c": ("Msft", "2025-01-27")})
    assert dict(zip(res.main.events.event_id, res.main.events.ticker, strict=True)) == {
        "a": "NVDA",
        "b": "NVDA",
        "c": "MSFT",
    }
    assert res.excluded.empty


def test_an_event_before_its_ticker_names_an_identifier_is_excluded_alone(example):
    res = _sample(example, {"early": ("NVDA", "2023-06-01"), "a": ("NVDA", "2024-12-02"), "b": ("NVDA", "2025-01-27")})
    assert list(res.main.events.ticker) == ["NVDA", "NVDA"]  # one identifier: no NVDA#90001
    why = res.excluded.set_index("event_id").loc["early"]
    assert why.ticker == "NVDA#?" and why.reason == "no identifier in stocknames.csv for the ticker NVDA on 2023-06-01"


@pytest.mark.parametrize("design", ["", "\n[volume]\n"])
def test_identifiers_without_a_names_file_and_one_absent_from_the_file(example, design):
    """The absent one is excluded with its reason, also when every security of the file is read
    (a [volume] study: the market's turnover)."""
    text = (example / "study.toml").read_text().replace('names = "stocknames.csv"', "")
    text = text[: text.index("[groups]")] + '[groups]\nchips = ["90001", "90007", "99999"]\n' + design
    (example / "study.toml").write_text(text)
    res = es.run_study(str(example / "study.toml"))
    assert sorted(res.main.events.ticker) == ["90001", "90007"]
    why = dict(zip(res.excluded.ticker, res.excluded.reason, strict=True))
    assert why["99999"] == "no returns in dsf.csv from 2024-01-25 to 2025-02-10"


def test_calendar_of_the_market_file_dates(example):
    market = pd.read_csv(example / "dsi.csv")
    market[market.DATE != 20250127].to_csv(example / "dsi.csv", index=False)  # a market closed that day
    dsf = pd.read_csv(example / "dsf.csv", dtype=str)
    dsf[dsf.DATE != "20250127"].to_csv(example / "dsf.csv", index=False)
    text = (example / "study.toml").read_text().replace('calendar = "XNYS"', 'calendar = "data"')
    (example / "study.toml").write_text(text.replace("[[claims]]", "[[dropped]]").split("[[dropped]]")[0])
    res = es.run_study(str(example / "study.toml"))
    assert res.event.date == pd.Timestamp("2025-01-28")
    assert "2025-01-27 is not a date of the market series; the event was rolled forward to 2025-01-28" in res.notes
    day0 = res.main.ar[res.main.ar.day == 0]
    assert set(day0.date) == {pd.Timestamp("2025-01-28")}


def test_a_sample_on_the_market_file_s_dates_reaching_past_them(example):
    """Counted in the market file's dates, a sample whose first estimation window starts before
    them, or whose [long] window ends after them, is read over the dates there are: the events
    short of data are excluded or told short one by one (the whole study stopped with "+250
    sessions from 2025-01-27 is outside the calendar of dates")."""
    text = (example / "study.toml").read_text().replace('calendar = "XNYS"', 'calendar = "data"')
    (example / "study.toml").write_text(text.replace("[model]", "[long]\n\n[model]"))
    res = _sample(example, {"early": ("NVDA", "2024-01-05"), "a": ("MSFT", "2024-12-02"), "b": ("NVDA", "2025-01-27")})
    assert sorted(res.main.events.event_id) == ["a", "b"]
    assert res.excluded.set_index("event_id").loc["early", "stage"] == "estimation"
    short = res.long.bhar.set_index("event_id").short
    assert short.to_dict() == {"a": "the data end: 143 of 251 sessions", "b": "the data end: 107 of 251 sessions"}


def test_a_calendar_from_an_unreadable_market_file_is_one_problem(example):
    """The market file's dates cannot be read: that is the one problem of data.calendar, not
    followed by a second saying the study counts on another calendar (the default it fell back on)."""
    market = pd.read_csv(example / "dsi.csv")
    market.assign(DATE="soon").to_csv(example / "dsi.csv", index=False)
    text = (example / "study.toml").read_text().replace('calendar = "XNYS"', 'calendar = "data"')
    (example / "study.toml").write_text(text)
    with pytest.raises(StudyFileError) as caught:
        es.load_study(str(example / "study.toml"))
    said = str(caught.value)
    assert "field 'data.calendar'" in said and "'soon' is not a date" in said
    assert said.count("field 'data.calendar'") == 1 and "set both alike" not in said


def test_changed_data_makes_the_placebo_fingerprint_change(example):
    from eventstudy.study.placebo import fingerprint

    study = es.load_study(str(example / "study.toml"))
    before = fingerprint(study, 20, 1)
    with (example / "dsi.csv").open("a") as f:
        f.write("20250701,0.001,0.002\n")
    assert fingerprint(study, 20, 1) != before


def test_constructed_benchmark_from_the_returns_file(example):
    text = (example / "study.toml").read_text().replace('benchmark = "spy"', 'benchmark = "ew"')
    text = text.replace("[groups]", '[benchmarks.ew]\nweights = "equal"\nexclude = ["ai_chips"]\n\n[groups]')
    (example / "study.toml").write_text(text)
    res = es.run_study(str(example / "study.toml"))
    dsf = pd.read_csv(example / "dsf.csv", dtype={"RET": str})
    day = dsf[dsf.DATE == 20250127]
    chips = {90001, 90006, 90007, 90008}  # NVDA, AVGO, AMD, MU: the excluded group
    want = day[~day.PERMNO.isin(chips)].RET.astype(float).mean()
    got = res.indices.set_index("series").ret["ew"]
    assert np.isclose(got, want, rtol=0, atol=1e-15)


def test_a_shipped_study_s_copy_takes_its_data_files():
    from eventstudy.data.files.spec import FILE_KEYS
    from eventstudy.study.workspace import FILE_KEYS as COPIED_KEYS
    from eventstudy.study.workspace import definition_files

    assert COPIED_KEYS == FILE_KEYS  # the study's copy takes every file [data] can name
    names = {f.name for f in definition_files(EXAMPLE / "study.toml")}
    assert {"study.toml", "dsf.csv", "dsi.csv", "stocknames.csv", "make_data.py"} <= names


@pytest.mark.parametrize("calendar, noted", [("XNYS", False), ("data", True)])
def test_the_shipped_us_factors_on_another_calendar_are_noted(example, calendar, noted):
    """A factor model on files counted in another calendar than the NYSE's reads the shipped US
    factors: the run says so; the report counts the estimation window in the study's sessions."""
    text = (example / "study.toml").read_text().replace('calendar = "XNYS"', f'calendar = "{calendar}"')
    text = text.replace('name = "market"', 'name = "ff3"').replace("[[claims]]", "[[dropped]]").split("[[dropped]]")[0]
    (example / "study.toml").write_text(text)
    res = es.run_study(str(example / "study.toml"))
    note = (
        "the factors are the shipped US Fama–French factors, on NYSE dates, while sessions are counted as dates "
        "of the market series: name your market's factors in [data] factors"
    )
    assert (note in res.notes) is noted
    assert not any("shipped US Fama–French" in n for n in res.notes if n != note)
    sessions = "dates of the market series" if noted else "NYSE sessions"
    assert _model_line(res).startswith(f"- Model: {res.model_text()}; estimation window [-250, -11] {sessions};")


def test_money_is_told_in_the_data_s_currency(example, tmp_path):
    """[data] currency names the money of the files: the report, the results' guide and the CLI
    summary say EUR where they said USD, and a claim in USD bn is refused rather than compared
    with euros (the example's numbers are only relabelled here: the test is of the words)."""
    text = (example / "study.toml").read_text().replace('calendar = "XNYS"', 'calendar = "XNYS"\ncurrency = "EUR"')
    (example / "study.toml").write_text(text)
    with pytest.raises(StudyFileError) as err:
        es.load_study(str(example / "study.toml"))
    assert "'mv_change' checks figures in USD bn; this study's market values are in EUR" in str(err.value)
    assert "claims[0]" not in str(err.value)  # the percent claim is fine
    (example / "study.toml").write_text(re.sub(r"\[\[claims\]\].*?(?=\n\[report\])", "", text, flags=re.S))
    res = es.run_study(str(example / "study.toml"))
    out = tmp_path / "out"
    assert main(["run", str(example / "study.toml"), "--offline", "--quiet", "--out", str(out)]) == 0
    report = (out / "REPORT.md").read_text()
    nvda = res.day0.loc["NVDA"].mv_change / 1e9
    assert "(abnormal " in report and f"−EUR {abs(nvda):,.1f} bn of market value)" in report
    assert "Raw change in market value, EUR bn" in report and "USD" not in report and "$" not in report
    assert "Money in EUR" in (out / "results" / "RESULTS.md").read_text()
    assert "USD" not in (out / "results" / "RESULTS.md").read_text()
    assert "by universe (EUR bn)" in res.summary().as_text()
    assert "Day 0 by firm (ret = the returns file's; AR vs the model)" in res.summary().as_text()


def test_money_in_billions_as_a_reader_reads_it():
    assert money_bn(600) == "$600 bn"
    assert money_bn(-12.34, "GBP", signed=True, digits=1) == "−GBP 12.3 bn"
    assert money_bn(0.04, signed=True, digits=1) == "+$0.0 bn"
    assert money_bn(float("nan"), "EUR") == "–"


def test_a_wide_returns_file_gives_the_long_file_s_numbers(example, tmp_path):
    """The example's returns as a column per PERMNO (its letter codes kept): the same ARs, CARs
    and tests; no market values, which the report says (and a claim in money cannot be checked)."""
    dsf = pd.read_csv(example / "dsf.csv", dtype={"RET": str})
    dsf.pivot(index="DATE", columns="PERMNO", values="RET").to_csv(example / "wide.csv")
    long = es.run_study(str(example / "study.toml"))
    text = (example / "study.toml").read_text()
    text = text.replace('returns = "dsf.csv"', 'returns = "wide.csv"\nlayout = "wide"')
    (example / "study.toml").write_text(text.replace('"TSLA"]', '"TSLA", "NOPE"]', 1))
    wide = es.run_study(str(example / "study.toml"))
    for name in ("ar", "car", "tests"):
        pd.testing.assert_frame_equal(getattr(wide.main, name), getattr(long.main, name))
    assert dict(zip(wide.excluded.ticker, wide.excluded.reason, strict=True)) == {
        "NOPE": "no identifier in stocknames.csv for the ticker NOPE on 2025-01-27"
    }
    assert wide.shares.flag.eq("no share count").all() and long.shares.flag.ne("no share count").all()
    assert set(wide.provenance.return_basis.dropna()) >= {"column 90001 of the returns file"}
    out = tmp_path / "out"
    assert main(["run", str(example / "study.toml"), "--offline", "--quiet", "--out", str(out)]) == 0
    report = (out / "REPORT.md").read_text()
    assert "There are no market values (the returns file gives no price and shares" in report
    assert "Market values are |price| × shares" not in report
    # nothing in money, no day's range: no tables or figures of dashes, in the report or the summary
    assert UNVALUED in report and "Raw change in market value" not in report and "of market value)" not in report
    day0 = next(line for line in report.splitlines() if line.startswith("| firm | ret |"))
    assert day0 == "| firm | ret | ar | t | p |"
    assert "price_path" not in report and "mv_change" not in report
    figures = {f.stem for f in (out / "figures").iterdir()}
    assert "ar_day0" in figures and "price_path" not in figures and "mv_change" not in figures
    summary = wide.summary().as_text()
    assert UNVALUED in summary and "mv_change_bn" not in summary and "low_ret" not in summary
    assert "USD bn" not in summary and "mv_change_bn" in long.summary().as_text()


def test_a_sample_without_a_names_file_excludes_an_identifier_absent_from_the_file(example):
    """Its events are excluded with their reason, and the others fitted (the absent identifier's
    column of no returns crashed the sample's data-quality checks with a KeyError)."""
    text = (example / "study.toml").read_text().replace('names = "stocknames.csv"', "")
    (example / "study.toml").write_text(text)
    res = _sample(example, {"a": ("90001", "2025-01-27"), "b": ("99999", "2025-01-27"), "c": ("90007", "2024-12-02")})
    assert sorted(res.main.events.event_id) == ["a", "c"]
    assert res.excluded[["event_id", "ticker", "stage", "reason"]].values.tolist() == [
        ["b", "99999", "data", "no returns in dsf.csv from 2023-12-01 to 2025-02-10"]
    ]


def test_a_study_on_its_own_files_names_securities_as_its_file_does(example):
    """Identifiers of one's own file need not be yfinance tickers ("700 HK Equity", "vod.l",
    "BT/A"); only what breaks a table or a reused ticker ('|', '#') or spaces around them are
    refused. A study on the snapshot keeps the ticker rule."""
    dsf = pd.read_csv(example / "dsf.csv", dtype=str)
    names = {"90001": "700 HK Equity", "90007": "vod.l", "90008": "BT/A"}
    dsf.assign(PERMNO=dsf.PERMNO.map(names).fillna(dsf.PERMNO)).to_csv(example / "dsf.csv", index=False)
    text = (example / "study.toml").read_text().replace('names = "stocknames.csv"', "")
    head = text[: text.index("[groups]")]
    (example / "study.toml").write_text(head + '[groups]\nsome = ["700 HK Equity", "vod.l", "BT/A"]\n')
    res = es.run_study(str(example / "study.toml"))
    assert sorted(res.main.events.ticker) == ["700 HK Equity", "BT/A", "vod.l"]
    (example / "study.toml").write_text(head + '[groups]\nsome = ["a|b", " vod.l", "x#1"]\n')
    with pytest.raises(StudyFileError) as err:
        es.load_study(str(example / "study.toml"))
    assert [why for _, why in err.value.problems] == [
        f"{t!r} is not an identifier (1 to 40 characters, no '|', '#' or spaces around them)"
        for t in ("a|b", " vod.l", "x#1")
    ]
    (example / "study.toml").write_text(from_snapshot(head) + '[groups]\nsome = ["vod.l"]\n')
    with pytest.raises(StudyFileError, match=r"'vod.l' is not a ticker \(upper-case letters"):
        es.load_study(str(example / "study.toml"))
