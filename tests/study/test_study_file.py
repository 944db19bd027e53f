"""Study files are checked whole before any data is read: every problem is listed with the
file and the field; a file that passes runs to a report, or fails with the toolkit's own
error — never another exception, never a verdict over no evidence."""

from __future__ import annotations

import copy
import dataclasses
import math
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from eventstudy.cli import main
from eventstudy.core.engine import run_event_study
from eventstudy.core.windows import Window
from eventstudy.errors import EventStudyError, StudyFileError
from eventstudy.report import writer as report
from eventstudy.study.checks import with_overrides
from eventstudy.study.pipeline import run_study
from eventstudy.study.studyfile import load_study

from ..helpers import study_file, synthetic_panel


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + " }"
    if isinstance(v, Raw):
        return v.text
    raise TypeError(v)


class Raw:
    """A TOML literal written as is (a date, a date-time)."""

    def __init__(self, text: str) -> None:
        self.text = text


def to_toml(doc: dict) -> str:
    lines = []
    for table, body in doc.items():
        if table == "claims":
            for claim in body:
                lines.append("[[claims]]")
                lines += [f'"{k}" = {_toml_value(v)}' for k, v in claim.items()]
            continue
        lines.append(f"[{table}]")
        lines += [f'"{k}" = {_toml_value(v)}' for k, v in body.items()]
    return "\n".join(lines) + "\n"


BASE = {
    "study": {"title": "A test study", "event_date": Raw("2025-01-27")},
    "model": {
        "name": "market",
        "benchmark": "SPY",
        "estimation": [-120, -11],
        "windows": [[0, 0], [-1, 1], [0, 2]],
        "path": [-3, 3],
        "min_estimation_obs": 60,
        "indices": ["^IXIC"],
    },
    "groups": {"chips": ["NVDA", "AMD"], "big": ["MSFT", "AAPL"], "all": {"union": ["chips", "big"]}},
    "claims": [
        {
            "id": "drop",
            "article": "a.txt",
            "says": "NVIDIA fell 17 %",
            "metric": "close_move",
            "ticker": "NVDA",
            "figure": 17,
            "rule": "rounded_percent",
        },
        {
            "id": "all",
            "article": "a.txt",
            "says": "all fell",
            "metric": "universe_returns",
            "universes": ["chips"],
            "rule": "all_moved",
            "window": "[0,+2]",
        },
        {
            "id": "mv",
            "article": "a.txt",
            "says": "chips lost $700 bn",
            "metric": "total_mv_change",
            "universes": ["chips", "all"],
            "figure": 700,
            "rule": "close_to",
        },
    ],
    "report": {"focus": "NVDA", "marks_bn": [600]},
}


def write(tmp_path, doc, name="s") -> object:
    path = tmp_path / name / "study.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(doc))
    return path


def edited(**changes):
    """BASE with dotted-path changes, e.g. ``{"model.windows": []}``; ``None`` deletes."""
    doc = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is None:
            del node[int(leaf) if isinstance(node, list) else leaf]
        elif isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value
    return doc


BROKEN = {
    "claim window typo": ({"claims.1.window": "[0, 3]"}, "claims[1].window", "names no window of the study: '[0, 3]'"),
    "claim ticker not studied": ({"claims.0.ticker": "TSLA"}, "claims[0].ticker", "'TSLA' is not a firm of any group"),
    "focus not studied": ({"report.focus": "TSLA"}, "report.focus", "'TSLA' is not a firm of any group"),
    "close_to without figure": ({"claims.2.figure": None}, "claims[2].figure", "is missing"),
    "no universes": ({"claims.1.universes": None}, "claims[1].universes", "is missing"),
    "figure nan": ({"claims.0.figure": float("nan")}, "claims[0].figure", "positive, finite"),
    "negative figure": ({"claims.0.figure": -12}, "claims[0].figure", "a fall is set by direction"),
    "marks not numbers": ({"report.marks_bn": ["lots"]}, "report.marks_bn", "must be a list of numbers"),
    "group refers to itself": ({"groups.all": {"union": ["all"]}}, "groups.all", "refers to itself: all → all"),
    "groups in a circle": (
        {"groups.chips": {"union": ["big"]}, "groups.big": {"union": ["chips"]}},
        "groups.chips",
        "refers to itself: chips → big → chips",
    ),
    "event date before the calendar": (
        {"study.event_date": Raw("1920-01-02")},
        "study.event_date",
        "1920-01-02 is outside the XNYS calendar",
    ),
    "window end outside the calendar": (
        {"model.windows": [[0, 0], {"label": "long", "start": 0, "end": "2199-01-01"}]},
        "model.windows[1].end",
        "2199-01-01 is outside the XNYS calendar",
    ),
    "time-zone event date": ({"study.event_date": Raw("2025-01-27T00:00:00Z")}, "study.event_date", "time zone"),
    "event date with a time": ({"study.event_date": Raw("2025-01-27T15:30:00")}, "study.event_date", "date and time"),
    "day-first event date": ({"study.event_date": "27/01/2025"}, "study.event_date", "never guessed"),
    "event date in words": ({"study.event_date": "Jan 27 2025"}, "study.event_date", "is not a date YYYY-MM-DD"),
    "no windows": ({"model.windows": []}, "model.windows", "at least one event window"),
    "huge estimation window": (
        {"model.estimation": [-5_000_000, -11]},
        "model.estimation",
        "more than 2520 sessions",
    ),
    "long window too far": (
        {"long": {"windows": [[0, 3000]]}},
        "long.windows[0]",
        "[0, 3000] reaches more than 2520 sessions (ten years)",
    ),
    "benchmark is a firm": ({"model.benchmark": "NVDA"}, "model.benchmark", "one of the event firms"),
    "index as a firm": ({"groups.big": ["MSFT", "^IXIC"]}, "groups.big.tickers", "an index, not a firm"),
    "path without day 0": ({"model.path": [1, 3]}, "model.path", "must include day 0"),
    "rule cannot judge metric": ({"claims.1.rule": "partly_recovered"}, "claims[1].rule", "cannot judge"),
    "window on a day-0 metric": (
        {"claims.0.metric": "intraday_extreme", "claims.0.window": "[0,+2]"},
        "claims[0].window",
        "day 0 only",
    ),
    "bad direction": ({"claims.0.direction": "sideways"}, "claims[0].direction", "'fall' or 'rise'"),
    "unit of another metric": ({"claims.0.unit": "USD bn"}, "claims[0].unit", "is in '%'"),
    "study name escapes": ({"study.name": "../.."}, "study.name", "short name"),
    "unknown table": ({"groups.big": {"from_table": "nosuch"}}, "groups.big.from_table", "unknown table 'nosuch'"),
    "duplicate claim id": ({"claims.1.id": "drop"}, "claims[0].id", "used by more than one claim"),
    "old name with a rise": (
        {"claims.0.metric": "mv_loss", "claims.0.direction": "rise", "claims.0.rule": "close_to"},
        "claims[0].direction",
        "describe a fall",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_broken_field_is_named_before_any_data_is_read(tmp_path, case, monkeypatch):
    changes, field, message = BROKEN[case]
    path = write(tmp_path, edited(**changes))
    monkeypatch.setattr("eventstudy.study.pipeline.load_market_data", lambda *a, **k: pytest.fail("data was read"))
    with pytest.raises(
        StudyFileError, match=f"{re.escape(str(path))}: field '{re.escape(field)}': .*{re.escape(message)}"
    ):
        run_study(path)


def test_every_problem_is_listed_at_once(tmp_path):
    path = write(
        tmp_path,
        edited(**{"claims.1.window": "[9, 9]", "report.focus": "ZZZ", "model.windows": [[0, 0], [2, 1]]}),
    )
    with pytest.raises(StudyFileError) as err:
        load_study(path)
    fields = [f for f, _ in err.value.problems]
    assert {"claims[1].window", "report.focus", "model.windows[1]"} <= set(fields)
    assert str(err.value).startswith(f"{len(fields)} problems in {path}:")


def test_unreadable_and_binary_study_files_name_the_file(tmp_path):
    path = tmp_path / "b" / "study.toml"
    path.parent.mkdir()
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(StudyFileError, match=f"{re.escape(str(path))}: is not a text file"):
        load_study(path)


def test_a_study_file_we_may_not_read_is_named(tmp_path, monkeypatch):
    """As root permission bits do not stop a read, so the refusal is made at the boundary."""
    path = tmp_path / "p" / "study.toml"
    path.parent.mkdir()
    path.write_text("[study]\n")
    real = type(path).read_bytes

    def denied(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(type(path), "read_bytes", denied)
    with pytest.raises(StudyFileError, match=f"{re.escape(str(path))}: cannot be read \\(Permission denied\\)"):
        load_study(path)


def test_claim_window_may_be_written_with_spaces(tmp_path):
    study = load_study(write(tmp_path, edited(**{"claims.1.window": "[0, 2]"})))
    assert study.claims[1].window == "[0,+2]"


def test_an_override_that_removes_a_claims_window_makes_it_not_checkable(tmp_path):
    study = with_overrides(load_study(write(tmp_path, BASE)), windows=(Window(0, 1),))
    assert study.overrides == ("--window 0 1",)
    res = run_study(study)
    row = res.claims.set_index("id").loc["all"]
    assert row.verdict == "not checkable" and "'[0,+2]' is not among this run's windows ([0,0], [0,+1])" in row.reason
    # the dollar claim is judged on day 0, not on the first window
    assert res.claims.set_index("id").loc["mv", "window"] == "day 0"


@pytest.mark.parametrize(
    "date, why",
    [
        ("01/02/2025", "must be a date (a date, a Timestamp or YYYY-MM-DD text), got '01/02/2025'"),
        (20250127, "must be a date (a date, a Timestamp or YYYY-MM-DD text), got 20250127"),
        (pd.Timestamp("2025-01-27 15:00"), "must be a date without a time of day or time zone"),
    ],
)
def test_a_study_built_in_python_never_guesses_its_event_date(tmp_path, date, why):
    """A Study changed in Python is checked as a study file is: text in another order than
    YYYY-MM-DD (2 January or 1 February?) or a YYYYMMDD number (1970 to pandas) is refused."""
    study = load_study(write(tmp_path, BASE))
    with pytest.raises(StudyFileError, match=re.escape(why)):
        run_study(dataclasses.replace(study, event_date=date))


def test_day0_table_uses_day0_statistics_whatever_the_windows(tmp_path):
    study = with_overrides(load_study(write(tmp_path, BASE)), windows=(Window(0, 2),))
    res = run_study(study)
    assert [w.label for w in res.main.windows] == ["[0,0]", "[0,+2]"]
    day0 = res.main.car_of("[0,0]")
    events = res.main.events.set_index("ticker")
    ar0 = res.main.ar[(res.main.ar.day == 0)].set_index("ticker")
    assert day0.car.to_dict() == pytest.approx(ar0.ar.to_dict(), abs=1e-15)
    assert day0.t.to_dict() == pytest.approx((ar0.ar / ar0.se).to_dict(), rel=1e-12)
    assert (day0.dof == events.n_est.reindex(day0.index) - 2).all()


def test_an_excluded_claim_firm_is_not_checkable_and_the_study_still_reports(tmp_path):
    doc = edited(**{"groups.chips": ["NVDA", "AMD", "CRWV"], "claims.0.ticker": "CRWV", "report.focus": "CRWV"})
    res = run_study(write(tmp_path, doc))
    row = res.claims.set_index("id").loc["drop"]
    assert row.verdict == "not checkable" and "CRWV was excluded: " in row.reason
    assert res.focus == "NVDA" and any("focus firm CRWV is not studied" in n for n in res.notes)
    text = report.write(res, tmp_path / "out", tmp_path / "out" / "figures").read_text()
    assert "CRWV was excluded" in text
    assert not re.search(r"\bnan\b|\binf\b", text, re.IGNORECASE)


def test_a_claimed_rise_on_a_rally(tmp_path):
    doc = edited(
        **{
            "study.event_date": Raw("2025-04-09"),
            "claims.0.direction": "rise",
            "claims.0.figure": 19,
            "claims.1.direction": "rise",
            "claims.1.window": None,
        }
    )
    res = run_study(write(tmp_path, doc)).claims.set_index("id")
    assert res.verdict["drop"] == "supported" and "computed 18.7 % vs the article's 19 %" in res.reason["drop"]
    assert res.verdict["all"] == "supported" and res.reason["all"].startswith("2 of 2 rose over day 0")


def test_factor_model_names_its_regressors(tmp_path):
    res = run_study(write(tmp_path, edited(**{"model.name": "ff3"})))
    assert "regressors mkt_rf, smb, hml (Fama–French daily factors)" in res.model_text()
    assert "benchmark" not in res.model_text()


def test_missing_regressors_are_reported_as_such_not_as_missing_returns():
    returns, regressors, events = synthetic_panel(n_firms=3)
    day1 = regressors.index[271]
    regressors.loc[day1, "mkt"] = float("nan")
    returns.iloc[272, 0] = float("nan")
    res = run_event_study(returns, regressors, events, windows=[Window(0, 1), Window(0, 2)], path=Window(-2, 2))
    reasons = res.excluded.set_index(["ticker", "stage"]).reason
    assert reasons[("F001", "window [0,+1]")] == "no mkt data on day(s) +1: no CAR"
    assert reasons[("F000", "window [0,+2]")] == "missing return on day(s) +2; no mkt data on day(s) +1: no CAR"


def test_index_without_data_on_the_event_day_is_explained(tmp_path):
    doc = edited(**{"study.event_date": Raw("2025-05-01"), "model.indices": ["^SOX", "^GSPC"]})
    res = run_study(write(tmp_path, doc))
    assert any(n == "^SOX: no return on 2025-05-01: its data end on 2025-03-31" for n in res.notes), res.notes
    assert res.indices.set_index("series").ret["^GSPC"] == pytest.approx(0.0063, abs=5e-4)  # the S&P 500 goes on


def test_windows_past_the_end_of_the_data_name_it(tmp_path):
    res = run_study(write(tmp_path, edited(**{"study.event_date": Raw("2025-06-27")})))
    assert any("but the data end on 2025-06-30: windows past that day have no CAR" in n for n in res.notes)
    assert res.claims.set_index("id").verdict["all"] == "not checkable"  # its window [0,+2] ends on 1 July
    # the sessions past the data are no firm's missing returns, whichever engine runs the study
    past = res.excluded[res.excluded.stage.str.startswith("window")]
    assert set(past.ticker) == set(res.main.events.ticker)
    assert set(past.reason) >= {"day(s) +2 after the last session of the data: no CAR"}
    assert not past.reason.str.contains("missing return|no mkt data").any()


def test_offline_run_before_the_data_does_not_advise_going_offline(tmp_path, capsys):
    path = write(tmp_path, edited(**{"study.event_date": Raw("2023-06-01")}))
    assert main(["run", str(path), "--offline", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "--offline" not in err.replace("run without --offline", "") and "2023" in err


# --- generated study files -------------------------------------------------------------------

LEAVES = [
    "study.title",
    "study.event_date",
    "model.name",
    "model.benchmark",
    "model.estimation",
    "model.windows",
    "model.path",
    "model.min_estimation_obs",
    "model.indices",
    "groups.chips",
    "groups.all",
    "claims.0.ticker",
    "claims.0.figure",
    "claims.0.metric",
    "claims.0.rule",
    "claims.1.window",
    "claims.1.universes",
    "claims.2.universes",
    "claims.2.figure",
    "report.focus",
    "report.marks_bn",
]
VALUES = st.one_of(
    st.none(),
    st.integers(-(10**7), 10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["", "NVDA", "TSLA", "[0,+2]", "[0, 1]", "day 0", "market", "ff3", "chips", "nosuch", "^IXIC", "rise"]
    ),
    st.lists(st.integers(-300, 300), max_size=3),
    st.lists(st.sampled_from(["NVDA", "AMD", "MSFT", "chips", "big", "all", "ZZZ", "^IXIC"]), max_size=3),
    st.lists(st.lists(st.integers(-15, 15), min_size=2, max_size=2), max_size=3),
    st.sampled_from(
        [Raw("2025-01-25"), Raw("2025-04-09"), Raw("2023-10-05"), Raw("2031-01-02"), Raw("2025-01-27T09:30:00")]
    ),
    st.fixed_dictionaries({"union": st.lists(st.sampled_from(["chips", "big", "all", "none"]), max_size=2)}),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(LEAVES), VALUES, max_size=3))
def test_generated_study_files_run_or_fail_with_our_own_error(tmp_path_factory, changes):
    tmp = tmp_path_factory.mktemp("gen")
    path = write(tmp, edited(**changes))
    try:
        study = load_study(path)
    except StudyFileError as exc:
        assert all(line.startswith(str(path)) for line in str(exc).splitlines()[-len(exc.problems) :])
        event("refused by the check")
        return
    try:
        res = run_study(study)
    except EventStudyError as exc:
        event(f"failed: {type(exc).__name__}")
        return
    event("ran")
    for row in res.claims.itertuples():
        if row.verdict != "not checkable":
            assert row.computed != "–" and not re.search(r"\b0 of 0\b|nan", row.computed + row.reason)


VALID = {
    "study.event_date": st.sampled_from([Raw(d) for d in ("2025-01-25", "2025-04-09", "2024-11-06", "2025-06-02")]),
    "model.name": st.sampled_from(["market", "market-adjusted", "constant-mean", "ff3", "carhart", "ff5"]),
    "model.benchmark": st.sampled_from(["SPY", "QQQ", "^GSPC"]),
    "model.windows": st.sampled_from([[[0, 0]], [[1, 3]], [[-2, -1], [0, 2]], [[0, 2], [0, 0]]]),
    "model.indices": st.sampled_from([[], ["^SOX", "SMH"], ["^GSPC", "^IXIC"]]),
    "claims.0.direction": st.sampled_from(["fall", "rise"]),
    "claims.0.metric": st.sampled_from(["close_move", "intraday_extreme", "opening_gap", "mv_change"]),
    "claims.0.rule": st.sampled_from(["close_to", "more_than", "not_checkable"]),
    "claims.1.rule": st.sampled_from(["all_moved", "double_digit", "close_to"]),
    "claims.1.window": st.sampled_from(["", "[0,+2]", "day 0"]),
    "claims.1.direction": st.sampled_from(["fall", "rise"]),
    "claims.2.universes": st.sampled_from([["chips"], ["big", "all"]]),
    "report.focus": st.sampled_from(["NVDA", "AMD", "MSFT"]),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.fixed_dictionaries({}, optional=VALID))
def test_generated_valid_study_files_run_to_a_report(tmp_path_factory, changes):
    tmp = tmp_path_factory.mktemp("valid")
    doc = edited(**changes)
    if doc["claims"][1]["rule"] == "close_to":
        doc["claims"][1]["figure"] = 10
    path = write(tmp, doc)
    try:
        res = run_study(load_study(path))
    except StudyFileError as exc:  # a combination the check refuses (a window not in the run's windows)
        assert all(f.startswith(("claims", "model")) for f, _ in exc.problems), exc
        return
    text = report.write(res, tmp / "out", tmp / "out" / "figures").read_text()
    assert "## Claims" in text and not re.search(r"\bnan\b|\binf\b|\+nan", text, re.IGNORECASE)
    for row in res.claims.itertuples():
        assert row.verdict != "not checkable" or row.reason.startswith("not checkable: ")


def test_thin_trading_key_makes_the_market_model_dimson(tmp_path):
    from eventstudy.study.studyfile import load_study
    from eventstudy.study.workspace import shipped_root

    text = (shipped_root() / "deepseek-2025" / "study.toml").read_text()
    path = tmp_path / "study.toml"
    path.write_text(text.replace('name = "market"', 'name = "market"\nthin_trading = "dimson"', 1))
    assert load_study(path).model == "dimson"
    path.write_text(text.replace('name = "market"', 'name = "ff3"\nthin_trading = "dimson"', 1))
    with pytest.raises(StudyFileError, match="thin_trading.*corrects the market model's beta"):
        load_study(path)
    path.write_text(text.replace('name = "market"', 'name = "market"\nthin_trading = "lagged"', 1))
    with pytest.raises(StudyFileError, match="thin_trading.*must be one of dimson"):
        load_study(path)


def test_a_study_file_saved_with_a_byte_order_mark_reads_as_without(tmp_path, monkeypatch):
    """Windows' Notepad saves UTF-8 with a byte-order mark, which is no TOML: read as if absent,
    by `run` and by `init --from`."""
    path = study_file(tmp_path)
    plain = load_study(str(path))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_study(str(path)) == plain
    monkeypatch.chdir(tmp_path)
    assert main(["init", "copy", "--from", str(path), "--quiet"]) == 0
    assert load_study(str(tmp_path / "analyses" / "copy" / "study.toml")).groups == plain.groups
