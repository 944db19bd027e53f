"""The designs beside the returns, run from a study file: abnormal volatility on one date (both
forms) and in a sample (the cross-sectional form), on the shipped CRSP-layout example's files."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import eventstudy as es

from ..helpers import REPO


@pytest.fixture
def example(tmp_path):
    for f in ("dsf.csv", "dsi.csv", "stocknames.csv", "study.toml"):
        shutil.copy(REPO / "analyses" / "crsp-format-example" / f, tmp_path / f)
    return tmp_path


def _as_sample(folder, table: str):
    """The example made a sample of three firm-events on their own dates, with ``table`` added."""
    pd.DataFrame({"event_id": ["a", "b", "c"], "ticker": ["NVDA", "AMD", "MU"]}).assign(
        date=["2025-01-27", "2024-10-30", "2024-12-19"]
    ).to_csv(folder / "events.csv", index=False)
    text = (folder / "study.toml").read_text()
    head = text[: text.index("[model]")].replace("event_date = 2025-01-27\n", "")
    (folder / "study.toml").write_text(head + '[events]\nfile = "events.csv"\n\n[model]\nbenchmark = "spy"\n\n' + table)
    return folder / "study.toml"


def test_volatility_on_one_date_has_both_forms_and_the_u_of_each_firm(example):
    (example / "study.toml").write_text((example / "study.toml").read_text() + "\n[volatility]\n")
    res = es.run_study(str(example / "study.toml"))
    vol = res.volatility
    assert set(vol.tests.test) == {"variance-ratio-t", "variance-ratio-portfolio"}
    nvda = res.main.ar[(res.main.ar.ticker == "NVDA") & (res.main.ar.day == 0)].iloc[0]
    d = res.main.events.set_index("ticker").n_est["NVDA"] - 2
    row = vol.events[(vol.events.ticker == "NVDA") & (vol.events.window == "[0,0]")].iloc[0]
    assert row.u_star == pytest.approx((nvda.ar / nvda.se) ** 2 * (d - 2) / d)
    assert vol.daily.groupby("group").day.count().min() == 21  # the path, [-10,+10]


def test_volatility_of_a_sample_has_the_cross_sectional_form(example):
    res = es.run_study(str(_as_sample(example, "[volatility]\n")))
    assert set(res.volatility.tests.test) == {"variance-ratio-t"}
    assert np.isfinite(res.volatility.tests.stat).all()


def test_long_horizon_bhar_from_the_files_by_hand(example):
    text = (example / "study.toml").read_text() + '\n[long]\nwindows = [[1, 20]]\ncalendar_time = "carhart"\n'
    (example / "study.toml").write_text(text)
    res = es.run_study(str(example / "study.toml"))
    dsf = pd.read_csv(example / "dsf.csv", dtype={"RET": str})
    nvda = pd.to_numeric(dsf[dsf.PERMNO == 90001].set_index("DATE").RET, errors="coerce")  # "C": no return
    spy = pd.read_csv(example / "dsi.csv").set_index("DATE").spy.astype(float)
    pos = list(nvda.index).index(20250127)
    span = nvda.index[pos + 1 : pos + 21]
    want = np.prod(1 + nvda[span]) - np.prod(1 + spy[span])
    row = res.long.bhar[(res.long.bhar.ticker == "NVDA")].iloc[0]
    assert row.bhar == pytest.approx(want, abs=1e-12) and row.sessions == 20
    assert {"bhar-t", "skewness-adjusted-t", "skewness-adjusted-bootstrap"} <= set(res.long.tests.test)
    assert res.long.calendar_model == "carhart"


def test_long_horizons_of_a_sample_use_its_benchmark(example):
    res = es.run_study(str(_as_sample(example, "[long]\nwindows = [[1, 40]]\n")))
    assert res.long.bhar.bhar.notna().sum() == 3 and res.long.reference == "spy"


def _tables(res) -> dict:
    from eventstudy.core.summary import Table

    return {p.caption: p.frame for p in res.summary().parts if isinstance(p, Table)}


def test_the_summary_shows_the_designs_beside_the_returns(example):
    """What the command line prints of a study with [volatility] and [long] (one date) or [volume]
    (a sample): each design's tests, their numbers the results' own; before, none of them."""
    text = (example / "study.toml").read_text() + "\n[volatility]\n\n[long]\nwindows = [[1, 20], [1, 200]]\n"
    (example / "study.toml").write_text(text)
    res = es.run_study(str(example / "study.toml"))
    tables = _tables(res)
    vol = tables["Abnormal volatility, U* (1: as usual) [0,0] (every window in the report)"]
    day0 = res.volatility.tests[res.volatility.tests.window == "[0,0]"]
    assert vol.stat.tolist() == day0.stat.tolist() and len(vol) == 6 and "window" not in vol  # 3 groups × 2 forms
    long = tables["Long horizons"]
    assert long.estimate.tolist() == res.long.tests.estimate.tolist() and set(long.window) == {"[+1,+20]", "[+1,+200]"}
    short = int((res.long.bhar.short != "").sum())  # [1, 200] runs past the files' last day
    assert short == 10 and f"{short} of 20 windows shorter than asked" in str(res.summary())
    res = es.run_study(str(_as_sample(example, "[volume]\n")))
    volume = _tables(res)["Abnormal volume: mean CAV (log turnover, log points) by window"]  # a sample: all
    lead = es.core.results.lead_tests_of(res.volume)
    assert volume.cav.tolist() == lead.caar.tolist() and not any(c.startswith("ci_") for c in volume)
