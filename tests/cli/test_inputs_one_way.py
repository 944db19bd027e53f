"""What a user gives is read one way or refused with the row and the reason, never guessed per
row: dates day-first, with a time zone or out of range, events files that are empty, all bad,
or carry columns the toolkit writes, ids left empty, a file outside the study's folder. Each
case through the command line on crafted files in a temporary folder, as a user meets it."""

from __future__ import annotations

import pandas as pd
import pytest

from eventstudy.cli import main
from eventstudy.study.events import build_events, parse_dates

STUDY = """
[study]
title = "Crafted events"
[events]
file = "{file}"
{extra}
[model]
name = "market"
benchmark = "SPY"
estimation = [-120, -11]
windows = [[0, 0], [-1, 1]]
path = [-5, 5]
min_estimation_obs = 80
"""

# the probe: eight ex-dividend-like days written day-first
DAY_FIRST = ["12/08/2024", "15/08/2024", "10/09/2024", "01/10/2024", "05/11/2024", "02/12/2024", "13/01/2025"]
TICKERS = ["AAPL", "MSFT", "NVDA", "JPM", "XOM", "KO", "PG"]


def _study(tmp_path, rows: str, extra: str = "", file: str = "events.csv"):
    folder = tmp_path / "s"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(STUDY.format(file=file, extra=extra))
    if rows is not None:
        (folder / "events.csv").write_text(rows)
    return folder


def _run(folder, capsys, *more):
    code = main(["run", str(folder), "--offline", "--quiet", "--out", str(folder.parent / "out"), *more])
    return code, capsys.readouterr().err


def _events(folder):
    return pd.read_csv(folder.parent / "out" / "results" / "events.csv", dtype=str)


def test_day_first_dates_are_refused_not_misread(tmp_path, capsys):
    rows = "ticker,date\n" + "".join(f"{t},{d}\n" for t, d in zip(TICKERS, DAY_FIRST, strict=True))
    code, err = _run(_study(tmp_path, rows), capsys)
    assert code == 1 and "no firm is left to study" in err
    assert "the date 12/08/2024 is not YYYY-MM-DD (or YYYYMMDD): set [events] date_format" in err


def test_a_declared_date_format_reads_every_row_the_same_way(tmp_path, capsys):
    rows = "ticker,date\n" + "".join(f"{t},{d}\n" for t, d in zip(TICKERS, DAY_FIRST, strict=True))
    folder = _study(tmp_path, rows, extra='date_format = "%d/%m/%Y"')
    code, err = _run(folder, capsys)
    assert code == 0, err
    given = _events(folder).set_index("ticker").given_date
    assert given.to_dict() == {
        "AAPL": "2024-08-12",  # 12 August, never 8 December
        "MSFT": "2024-08-15",
        "NVDA": "2024-09-10",
        "JPM": "2024-10-01",  # 1 October, never 10 January
        "XOM": "2024-11-05",
        "KO": "2024-12-02",
        "PG": "2025-01-13",
    }


def test_a_date_format_without_a_directive_is_a_study_file_error(tmp_path, capsys):
    code, err = _run(_study(tmp_path, "ticker,date\nAAPL,2024-08-12\n", extra='date_format = "dd/mm/yyyy"'), capsys)
    assert code == 2 and "field 'events.date_format': must be a strftime format" in err


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("2024-08-12T00:00:00+02:00", "the date carries a time zone"),
        ("2024-08-12 16:30", "the date carries a time of day"),
        ("9999-12-31", "the date 9999-12-31 is outside the exchange calendar"),
        ("2024-13-45", "the date 2024-13-45 is not a calendar date"),
        ("12/08/2024", "the date 12/08/2024 is not YYYY-MM-DD (or YYYYMMDD)"),
        ("", "the date is missing"),
    ],
)
def test_one_bad_date_rejects_its_row_and_the_rest_run(tmp_path, capsys, cell, reason):
    rows = f"ticker,date\nAAPL,{cell}\nMSFT,2024-08-15\nNVDA,2024-09-10\n"
    folder = _study(tmp_path, rows)
    code, err = _run(folder, capsys)
    assert code == 0, err
    rejected = pd.read_csv(folder.parent / "out" / "results" / "rejected.csv", dtype=str, keep_default_na=False)
    assert rejected.row.tolist() == ["1"] and rejected.reason.iloc[0].startswith(reason)
    assert sorted(_events(folder).ticker) == ["MSFT", "NVDA"]


def test_compact_dates_are_read():
    days, why = parse_dates(pd.Series(["20240812", "2024-08-15"]))
    assert days.dt.strftime("%Y-%m-%d").tolist() == ["2024-08-12", "2024-08-15"] and why.tolist() == ["", ""]


def test_an_events_file_whose_every_row_is_unusable_names_each_reason(tmp_path, capsys):
    code, err = _run(_study(tmp_path, "ticker,date\nAAPL,soon\nMSFT,\n"), capsys)
    assert code == 1 and "Traceback" not in err and "internal error" not in err
    assert "AAPL:soon: the date soon is not YYYY-MM-DD" in err and "the date is missing" in err


def test_a_header_only_events_file_says_it_holds_no_event(tmp_path, capsys):
    code, err = _run(_study(tmp_path, "ticker,date\n"), capsys)
    assert code == 2 and "field 'events.file': events.csv: it holds no event (a header and no rows)" in err


@pytest.mark.parametrize("column", ["note", "event_date", "given_date"])
def test_a_column_the_toolkit_writes_is_refused_before_the_analysis(tmp_path, capsys, monkeypatch, column):
    import eventstudy.study.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run_study", lambda *a, **k: pytest.fail("the analysis ran"))
    rows = f"ticker,date,{column}\nAAPL,2024-08-12,x\nMSFT,2024-08-15,y\n"
    code, err = _run(_study(tmp_path, rows), capsys)
    assert code == 2 and f"has a column '{column}', a name eventstudy writes for each event: rename it" in err


def test_an_extra_column_of_the_users_is_carried_through(tmp_path, capsys):
    folder = _study(tmp_path, "ticker,date,source\nAAPL,2024-08-12,press\nMSFT,2024-08-15,filing\n")
    code, err = _run(folder, capsys)
    assert code == 0, err
    assert _events(folder).set_index("ticker").source.to_dict() == {"AAPL": "press", "MSFT": "filing"}


def test_empty_event_ids_are_rejected_rows_not_a_repeated_na(tmp_path, capsys):
    folder = _study(tmp_path, "event_id,ticker,date\n,AAPL,2024-08-12\n,MSFT,2024-08-15\nx,NVDA,2024-09-10\n")
    code, err = _run(folder, capsys)
    assert code == 0, err
    rejected = pd.read_csv(folder.parent / "out" / "results" / "rejected.csv", dtype=str, keep_default_na=False)
    assert rejected.reason.tolist() == ["the event_id is empty (leave the column out for ticker:date ids)"] * 2
    assert "<NA>" not in err


def test_an_events_file_outside_the_study_folder_is_refused_unread(tmp_path, capsys):
    secret = tmp_path / "secret.csv"
    secret.write_text("password,hunter2\n")
    folder = _study(tmp_path, None, file="../secret.csv")
    code, err = _run(folder, capsys)
    assert code == 2 and "leaves the study's folder" in err
    assert "hunter2" not in err and "password" not in err


def test_build_events_on_an_empty_table_says_so():
    with pytest.raises(ValueError, match="holds no event"):
        build_events(pd.DataFrame({"ticker": [], "date": []}))


ROWS = [("AAPL", "2024-08-12", "after_close"), ("MSFT", "2024-08-15", "before_open"), ("NVDA", "2024-09-10", "")]


def test_an_events_file_with_its_own_column_names_is_read_through_events_columns(tmp_path, capsys):
    """A file whose firms are in Firm, days in event_date (a name the results write, so refused
    as is) and timing in Timing reads as the file with eventstudy's names does, to the byte."""
    plain = _study(tmp_path / "plain", "ticker,date,time\n" + "".join(f"{t},{d},{w}\n" for t, d, w in ROWS))
    own = _study(
        tmp_path / "own",
        "Firm,event_date,Timing\n" + "".join(f"{t},{d},{w}\n" for t, d, w in ROWS),
        extra='[events.columns]\nticker = "firm"\ndate = "event_date"\ntime = "Timing"',
    )
    for folder in (plain, own):
        code, err = _run(folder, capsys)
        assert code == 0, err
    assert _events(own).equals(_events(plain))
    assert _events(own).set_index("ticker").given_date.to_dict() == {
        "AAPL": "2024-08-12",
        "MSFT": "2024-08-15",
        "NVDA": "2024-09-10",
    }
    assert (_events(own).set_index("ticker").event_date["AAPL"]) == "2024-08-13"  # after the close: the next session


@pytest.mark.parametrize(
    "header, columns, problem",
    [
        ("firm,date", 'ticker = "permno"', "[events.columns] ticker = 'permno' is not a column (columns: firm, date)"),
        ("firm,date", 'firm = "firm"', "[events.columns] firm is not a column eventstudy reads"),
        ("firm,date", 'ticker = "firm"\nevent_id = "firm"', "names the column 'firm' for both ticker and event_id"),
        (
            "ticker,date,event_date",
            'date = "event_date"',
            "the file has a column 'date' besides the one [events.columns] names for it",
        ),
        ("firm,date", "", "has no column 'ticker' (columns: firm, date); or name it in [events.columns]"),
    ],
)
def test_events_columns_that_do_not_fit_the_file_are_a_study_file_error(tmp_path, capsys, header, columns, problem):
    folder = _study(tmp_path, f"{header}\n" + "AAPL,2024-08-12,2024-08-12\n", extra=f"[events.columns]\n{columns}")
    code, err = _run(folder, capsys)
    assert code == 2 and problem in err


def test_an_events_file_separated_by_semicolons_says_so(tmp_path, capsys):
    code, err = _run(_study(tmp_path, "ticker;date\nAAPL;2024-08-12\n"), capsys)
    assert code == 2 and "events.csv: its header is one column, 'ticker;date': the file is separated by ';'" in err


def test_an_events_file_in_a_windows_code_page_says_to_save_it_as_utf8(tmp_path, capsys):
    folder = _study(tmp_path, None)
    (folder / "events.csv").write_bytes("ticker,date,name\nAAPL,2024-08-12,Soci\xe9t\xe9\n".encode("cp1252"))
    code, err = _run(folder, capsys)
    assert code == 2 and "events.csv: it is not UTF-8 text (it holds the byte 0xe9" in err
    assert "save it as UTF-8" in err


def test_a_spreadsheet_given_as_a_table_says_to_save_it_as_csv(tmp_path, capsys):
    """A spreadsheet's own file (zipped XML) is not read as garbled text: the events file and a
    [data] file both say what to do with it."""
    folder = _study(tmp_path, None, extra='[data]\nreturns = "returns.xlsx"\n', file="events.xlsx")
    (folder / "events.xlsx").write_bytes(b"PK\x03\x04 not a table")
    (folder / "returns.xlsx").write_bytes(b"PK\x03\x04 not a table")
    code, err = _run(folder, capsys)
    assert code == 2
    assert "events.xlsx is a spreadsheet (.xlsx), not a CSV file: save it from the spreadsheet as 'CSV UTF-8'" in err
    assert "returns.xlsx: is a spreadsheet (.xlsx), not a CSV or parquet file" in err
