"""What a reader is told: each sentence true of the numbers it stands beside."""

from __future__ import annotations

import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from eventstudy import __version__
from eventstudy.cli import main
from eventstudy.core.results import excluded_by_reason
from eventstudy.core.tables import count_of, markdown_table
from eventstudy.report.excluded import excluded_table
from eventstudy.report.sample import _stage_drivers
from eventstudy.report.text import _summary, generated_by, named
from eventstudy.study import dollars
from eventstudy.study.checks import with_overrides
from eventstudy.study.pipeline import run_study
from eventstudy.study.results import _left_out
from eventstudy.study.studyfile import load_study

from ..helpers import study_file


def test_a_total_with_no_valued_firm_is_missing_not_zero():
    effects = pd.DataFrame(
        {
            "firm": ["A", "B"],
            "window": "[0,0]",
            "ret": [0.01, 0.02],
            "car": [0.0, 0.0],
            "mv_raw": np.nan,
            "mv_abnormal": np.nan,
        }
    )
    shares = pd.DataFrame({"firm": ["A", "B"], "flag": "none", "price_basis": "no share count"})
    row = dollars.group_totals(effects, {"g": ("A", "B")}, shares).iloc[0]
    assert np.isnan(row.mv_raw) and np.isnan(row.mv_abnormal) and row.n_firms == 0
    assert row.no_value == "A, B"


def test_under_a_factor_model_the_benchmark_sensitivity_is_left_out_and_said(tmp_path):
    path = study_file(tmp_path, model="ff3", tickers='["NVDA", "MSFT", "AMD"]', extra="")
    text = path.read_text().replace('benchmark = "SPY"', 'benchmark = "SPY"\nsensitivity = ["qqq"]')
    path.write_text(text + '\n[benchmarks.qqq]\nticker = "QQQ"\n')
    res = run_study(path)
    assert list(res.sensitivity) == ["SPY"]  # no second run that would differ in nothing
    assert any("does not enter the ff3 model" in n and "sensitivity (qqq) is left out" in n for n in res.notes)
    kind = res.indices.set_index("series").kind["SPY"]
    assert kind == "benchmark (not in the ff3 model)"
    assert (res.main.car.groupby(["event_id", "window"]).size() == 1).all()  # one row each


def test_the_summary_tells_falls_from_rises():
    day0 = pd.DataFrame({"firm": list("ABCDE"), "ret": [-0.05, 0.03, -0.01, 0.02, 0.04]})

    res = run_study("tariff-pause-2025")
    lines = "\n".join(_summary(res, markdown_table, day0))
    assert "the largest falls: A -5.00 %, C -1.00 %; the largest rises: E +4.00 %, B +3.00 %, D +2.00 %" in lines
    rises_only = day0.assign(ret=day0.ret.abs())
    lines = "\n".join(_summary(res, markdown_table, rises_only))
    assert "largest falls" not in lines and "the largest rises: A +5.00 %" in lines
    assert "groups of at most 40 firms" in lines


def test_the_report_says_which_engine_and_which_versions(tmp_path):
    from importlib import metadata

    path = study_file(tmp_path, tickers='["NVDA", "MSFT", "AMD"]')
    assert main(["run", str(path), "--offline", "--quiet", "--engine", "stream"]) == 0
    text = (path.parent / "REPORT.md").read_text()
    assert f"Computed by eventstudy {__version__} with the stream engine" in text
    assert "3 firms fitted in 1 group;" in text  # one group, not "1 groups"
    assert f"pandas {metadata.version('pandas')}" in text and "prices from: snapshot (" in text


def test_version_show_and_overrides_as_pairs(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"eventstudy {__version__}"
    path = study_file(tmp_path, tickers='["NVDA", "MSFT", "AMD"]')
    assert main(["run", str(path), "--offline", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "<span" not in shown and "![" not in shown and "|---" not in shown and "## Summary" in shown
    assert re.search(r"^group\s+caar\s+n_firms", shown, flags=re.M)  # tables aligned in columns
    study = with_overrides(load_study(path), windows=[(0, 3)], estimation=(-200, -11))
    assert [w.label for w in study.windows] == ["[0,+3]"] and study.estimation.start == -200


def test_the_placebo_command_prints_its_verdicts(tmp_path, capsys):
    path = study_file(tmp_path, tickers='["NVDA", "MSFT", "AMD", "AVGO", "MU"]')
    assert main(["placebo", str(path), "--draws", "5", "--seed", "3", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "Placebo: 5 draws" in out and "held_its_size" in out and "kolari-pynnonen" in out


def test_the_report_names_the_command_that_runs_this_study(tmp_path, monkeypatch):
    """By its name when the folder bears it (``run NAME`` finds it); a folder copied by hand keeps
    the template's name, and ``run NAME`` would run the template: then the file is named (also in
    the report's placebo hint)."""
    monkeypatch.chdir(tmp_path)
    own = type(
        "S", (), {"name": "tariffs", "path_file": tmp_path / "analyses" / "tariffs" / "study.toml", "overrides": ()}
    )
    assert "`python -m eventstudy run tariffs`" in generated_by(own, "x")
    copied = type(
        "S", (), {"name": "tariffs", "path_file": tmp_path / "mine" / "study.toml", "overrides": ("--model", "ff3")}
    )
    assert "`python -m eventstudy run mine/study.toml --model ff3`" in generated_by(copied, "x")
    assert named(copied) == "mine/study.toml"  # and so does the report's `eventstudy placebo` hint


def test_day_0_is_named_with_the_label_and_without_empty_marks_when_there_is_none():
    res = run_study("tariff-pause-2025")
    day0 = pd.DataFrame({"firm": ["A"], "ret": [0.01]})
    labelled = "\n".join(_summary(res, markdown_table, day0))
    assert f"- **Event:** Wednesday 09 April 2025 — {res.study.label};" in labelled
    assert str(res.summary()).startswith(f"{res.study.title} — event 2025-04-09 ({res.study.label})\n")
    res = replace(res, study=replace(res.study, label=""))
    assert "- **Event:** Wednesday 09 April 2025; " in "\n".join(_summary(res, markdown_table, day0))
    assert str(res.summary()).startswith(f"{res.study.title} — event 2025-04-09\n")


@pytest.mark.parametrize("n, words", [(0, "0 tickers"), (1, "1 ticker"), (2, "2 tickers")])
def test_a_count_is_in_the_plural_unless_one(n, words):
    assert count_of(n, "ticker") == words


def test_the_excluded_table_gives_one_row_to_a_reason_many_firms_share():
    """A window past the data's end leaves every firm without its CAR: one row says so, after the
    firms excluded outright, and points to the file that lists each."""
    tickers = [f"F{i:02d}" for i in range(9)]
    past = "day(s) +3, +4 after the last session of the data: no CAR"
    excluded = pd.DataFrame(
        {
            "ticker": [*tickers, *tickers[:7], "ZZ"],
            "stage": ["window [0,+4]"] * 9 + ["window [-5,+5]"] * 7 + ["estimation"],
            "reason": [past] * 9 + ["day(s) +3 to +5 after the last session of the data: no CAR"] * 7 + ["few"],
        }
    )
    lines = excluded_table(excluded, markdown_table, fitted=9).splitlines()
    assert lines[2] == "| ZZ | estimation | few |"
    assert lines[3] == f"| every fitted firm (9) | window [0,+4] | {past} |"
    assert lines[4].startswith("| F00, F01, F02, F03, F04 and 2 more | window [-5,+5] |")
    assert lines[-1] == "Each firm with its reason: `results/excluded.csv`."
    few = excluded_table(excluded[excluded.ticker.isin(["F00", "ZZ"])], markdown_table, fitted=9)
    assert "| F00 | window [0,+4] |" in few and "excluded.csv" not in few
    assert excluded_table(excluded.iloc[:0], markdown_table, fitted=9) == "None."
    outright = excluded_table(excluded.assign(stage="estimation"), markdown_table, fitted=9)
    assert "every fitted firm" not in outright  # firms excluded before the fit are never "fitted"


def test_the_summary_counts_firms_left_out_apart_from_firms_short_of_a_window():
    rows = pd.DataFrame(
        {
            "ticker": ["A", "B", "A", "B", "C"],
            "stage": ["window [0,+4]", "window [0,+4]", "window [-5,+5]", "window [-5,+5]", "estimation"],
            "reason": "r",
        }
    )
    assert _left_out(rows) == "Excluded: 1 firm (C); without a CAR in [0,+4], [-5,+5]: 2 firms (see the report)"
    assert _left_out(rows.iloc[:2]) == "Without a CAR in [0,+4]: 2 firms (see the report)"
    assert _left_out(rows.iloc[4:]) == "Excluded: 1 firm (C) (see the report)"


def test_the_summary_of_a_sample_counts_rows_rejected_and_events_left_out():
    rows = pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e3", *(f"x{i}" for i in range(7))],
            "ticker": ["A", "A", "B", "B", *("C" * 7)],
            "stage": ["window [0,+1]", "window [-1,+1]", "window [0,+1]", "window [-1,+1]", *["estimation"] * 7],
            "reason": "r",
        }
    )
    assert _left_out(rows, "event", rejected=1) == (
        "Rejected: 1 row of the events file; excluded: 7 events (x0, x1, x2, x3, x4 and 2 more); "
        "without a CAR in [0,+1], [-1,+1]: 3 events (see the report)"
    )
    assert _left_out(rows.iloc[:0], "event", rejected=2) == "Rejected: 2 rows of the events file (see the report)"


def test_reasons_that_differ_only_in_their_counts_are_one_row_with_each_counts_range():
    def short(have, left=None):
        out = f"{have} valid returns in the estimation window [-120,-11]"
        return out + (f" ({left} left out: the firm's other events)" if left else "") + "; 80 are needed"

    excluded = pd.DataFrame(
        {
            "stage": ["estimation"] * 4 + ["window [0,+1]"] * 2 + ["data"],
            "reason": [
                short(52, 9),
                short(45, 3),
                short(61, 12),
                short(21),
                "missing return on day(s) +1",
                "missing return on day(s) +3 after the last session of the data",
                "no prices between 2023-05-24 and 2025-07-07",
            ],
        }
    )
    table = excluded_by_reason(excluded)
    assert table.values.tolist() == [
        ["estimation", short("45–61", "3–12"), 3],  # the most frequent first, each count's range
        ["data", "no prices between 2023-05-24 and 2025-07-07", 1],  # dates kept
        ["estimation", short(21), 1],  # one event: its own count
        ["window [0,+1]", "missing return on day(s) +1", 1],  # relative days are not counts
        ["window [0,+1]", "missing return on day(s) +3 after the last session of the data", 1],
    ]
    assert excluded_by_reason(excluded.iloc[:0]).columns.tolist() == ["stage", "reason", "events"]


def test_reasons_that_differ_only_in_the_values_they_name_are_one_row_with_each_values_range():
    def garch(omega, a, b):  # as eventstudy.core.garch._rejected writes it
        return f"the GARCH parameters are out of range (ω = {omega:.3g}, a = {a:.3g}, b = {b:.3g}; a + b must be < 1)"

    excluded = pd.DataFrame(
        {
            "stage": "estimation",
            "reason": [
                garch(0.0134, 0, 1),
                garch(0.00278, 2.16e-12, 1),
                garch(0.005, 0, 1),
                "r̄ = 1.200 is out of range",
            ],
        }
    )
    assert excluded_by_reason(excluded).values.tolist() == [
        [
            "estimation",
            "the GARCH parameters are out of range (ω = 0.00278–0.0134, a = 0–2.16e-12, b = 1; a + b must be < 1)",
            3,
        ],
        ["estimation", "r̄ = 1.2 is out of range", 1],
    ]


def test_a_second_stage_driver_names_its_dates_events_in_words_that_fit_their_number():
    ids = ["A:1", "B:2", "C:2", "D:3", "E:3", "F:3", "G:3"]
    days = ["2024-10-24", "2024-11-01", "2024-11-01", *["2024-12-02"] * 4]
    events = pd.DataFrame({"event_id": ids, "ticker": [i[0] for i in ids], "event_date": pd.to_datetime(days)})
    car = pd.DataFrame({"event_id": ids, "window": "[0,0]", "car": [0.2, 0.1, -0.3, 0.01, 0.02, -0.03, 0.04]})
    influence = pd.DataFrame(
        {"left_out": ["2024-10-24", "2024-11-01", "2024-12-02"], "events": [1, 2, 4], "term": "x", "coef": 1.0}
        | {"coef_without": 0.5, "p": 0.01, "p_without": 0.2, "cooks_d": 0.9}
    )
    res = SimpleNamespace(
        main=SimpleNamespace(events=events, car=car),
        flags=pd.DataFrame(),
        second_stage={"[0,0]": SimpleNamespace(drivers=lambda: influence)},
    )
    one, two, four = _stage_drivers(res)
    assert "without the event of 2024-10-24: A:1 (CAR +20.0 %), the coefficient" in one
    assert "without the 2 events of 2024-11-01: C:2 (CAR -30.0 %), B:2 (CAR +10.0 %), the" in two
    assert "without the 4 events of 2024-12-02, among them G:3 (CAR +4.0 %), F:3 (CAR -3.0 %), E:3" in four
