"""The command line: exit codes, messages on stderr without tracebacks, help with examples."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from eventstudy.cli import main


def test_help_teaches_with_an_example(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    assert "eventstudy run deepseek-2025" in capsys.readouterr().out


def test_help_names_every_model(capsys):
    from eventstudy.arguments import parser
    from eventstudy.core.models import MODELS

    run = parser()._subparsers._group_actions[0].choices["run"]
    model = next(a for a in run._actions if a.dest == "model")
    assert [m for m in MODELS if m not in model.help.replace(",", " ").strip(")").split("(")[1].split()] == []


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run"])
    assert exit_.value.code == 2
    assert "required: study" in capsys.readouterr().err


def test_an_unknown_study_exits_2_without_traceback(capsys):
    assert main(["run", "no-such-study"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eventstudy: error:") and "no such study" in err and "Traceback" not in err


def test_verbose_shows_the_traceback():
    from eventstudy.errors import StudyFileError

    with pytest.raises(StudyFileError):
        main(["run", "no-such-study", "--verbose"])


def test_offline_and_refresh_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "deepseek-2025", "--offline", "--refresh"])
    assert exit_.value.code == 2


@pytest.mark.parametrize(
    "option, message",
    [
        (["--estimation", "-250", "5"], "must start after the estimation window ends (day 5)"),
        (["--window", "3", "1"], "window [3,1] ends before it starts"),
        (["--model", "ff7"], "unknown model 'ff7'"),
    ],
)
def test_bad_overrides_are_usage_errors_before_any_data_is_read(option, message, capsys, monkeypatch):
    from eventstudy.study import pipeline

    monkeypatch.setattr(pipeline, "run_study", lambda *a, **k: pytest.fail("data was read"))
    assert main(["run", "deepseek-2025", "--offline", *option]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eventstudy: error: --model/--estimation/--window:") and message in err


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "deepseek-2025" in out and "tariff-pause-2025" in out and "buffett-2025" in out


def test_list_shows_a_broken_study_beside_the_good_ones(tmp_path, capsys, monkeypatch):
    for name, text in {
        "good": '[study]\ntitle = "G"\nevent_date = 2025-01-27\n[groups]\ng = ["NVDA"]\n',
        "bad": '[study]\ntitle = "B"\n[groups]\ng = ["^IXIC"]\n',
    }.items():
        (tmp_path / "analyses" / name).mkdir(parents=True)
        (tmp_path / "analyses" / name / "study.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "good                 2025-01-27 local    G" in out
    assert "bad" in out and "not valid: 2 problems" in out
    assert "deepseek-2025        2025-01-27 shipped  The DeepSeek R1 sell-off" in out


def test_run_with_overrides_writes_to_out(tmp_path, capsys):
    from ..helpers import study_file

    path = study_file(tmp_path)
    code = main(
        [
            "run",
            str(path),
            "--offline",
            "--model",
            "market-adjusted",
            "--window",
            "0",
            "2",
            "--estimation",
            "-150",
            "-11",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "market-adjusted" in out
    assert "[0,+2]" in (tmp_path / "out" / "REPORT.md").read_text()
    assert (tmp_path / "out" / "REPORT.md").is_file() and (tmp_path / "out" / "figures" / "price_path.png").is_file()


def test_fetch_refuses_quietly_without_network(tmp_path, capsys, monkeypatch):
    import yfinance as yf

    monkeypatch.setattr(yf, "download", lambda *a, **k: __import__("pandas").DataFrame())
    from ..helpers import study_file

    code = main(["fetch", str(study_file(tmp_path)), "--refresh", "--quiet", "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 1 and "no firm is left" in err and "MSFT, NVDA, SPY: no prices between" in err


def _noisy_offline_download(*args, **kwargs):
    """What yfinance does without a network: log, warn and print, then return an empty frame."""
    import logging
    import warnings

    import pandas as pd

    log = logging.getLogger("yfinance")
    log.error("Cookie/crumb fetch failed (DNSError), continuing without crumb")
    warnings.warn("The inplace keyword in DataFrame.rename is deprecated", FutureWarning, stacklevel=1)
    print("\n1 Failed download:")
    log.error(
        f"['{args[0]}']: DNSError('Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. "
        "See https://curl.se/libcurl/c/libcurl-errors.html first for more details.')"
    )
    return pd.DataFrame()


@pytest.mark.parametrize("quiet", [True, False])
def test_without_network_yfinance_noise_becomes_one_line_of_ours(tmp_path, capfd, monkeypatch, quiet):
    import yfinance as yf

    from ..helpers import study_file

    monkeypatch.setattr(yf, "download", _noisy_offline_download)
    argv = ["run", str(study_file(tmp_path)), "--refresh", "--cache-dir", str(tmp_path / "c")]
    code = main(argv + (["--quiet"] if quiet else []))
    out, err = capfd.readouterr()
    assert code == 1 and out == ""
    assert [line for line in err.splitlines() if not line.startswith("prices: ")] == [
        "eventstudy: error: no firm is left to study, every one was excluded: MSFT, NVDA, SPY: no prices between "
        "2024-01-25 and 2025-01-30: no network: yfinance could not reach Yahoo (Could not resolve host: "
        "query2.finance.yahoo.com). Check the network, or run --offline."
    ]


def test_default_run_downloads_only_what_the_snapshot_lacks(tmp_path, capsys, monkeypatch):
    """Without --offline, the snapshot serves what it covers and yfinance only the rest."""
    import yfinance as yf

    asked = []

    def download(ticker, **kwargs):
        asked.append(ticker)
        return __import__("pandas").DataFrame()

    monkeypatch.setattr(yf, "download", download)
    from ..helpers import study_file

    path = study_file(tmp_path, tickers='["NVDA", "NEWCO"]')
    assert main(["run", str(path), "--quiet", "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o")]) == 0
    assert asked == ["NEWCO"]
    assert "| NEWCO | data | no prices between 2024-01-25 and 2025-01-30" in (tmp_path / "o" / "REPORT.md").read_text()


def test_offline_run_never_downloads(tmp_path, monkeypatch):
    import yfinance as yf

    def download(*a, **k):
        raise AssertionError("network")

    monkeypatch.setattr(yf, "download", download)
    from ..helpers import study_file

    path = study_file(tmp_path, tickers='["NVDA", "NEWCO"]')
    assert main(["run", str(path), "--offline", "--quiet", "--out", str(tmp_path / "o")]) == 0
    assert "unknown ticker" in (tmp_path / "o" / "REPORT.md").read_text()


@pytest.mark.parametrize(
    "fault, code, message",
    [
        (ZeroDivisionError("float division by zero"), 3, "internal error (ZeroDivisionError: float division by zero)"),
        (KeyboardInterrupt(), 130, "interrupted; the previous outputs and the cache are unchanged"),
        (OSError(28, "No space left on device", "/x/REPORT.md"), 1, "/x/REPORT.md: No space left on device"),
    ],
    ids=["bug", "interrupt", "disk"],
)
def test_every_failure_is_one_line_of_ours_with_its_exit_code(tmp_path, capsys, monkeypatch, fault, code, message):
    import eventstudy.study.pipeline as pipeline

    from ..helpers import study_file

    def fail(*a, **k):
        raise fault

    monkeypatch.setattr(pipeline, "run_study", fail)
    assert main(["run", str(study_file(tmp_path)), "--offline"]) == code
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_piped_progress_is_a_few_plain_lines(tmp_path, capfd):
    """stderr is not a terminal here (as when piped into a log): no bar, no carriage returns,
    a line at the start and at each quarter of the price loading, nothing under --quiet."""
    from eventstudy.cli import PLAIN_STEPS

    from ..helpers import study_file

    path = study_file(tmp_path, tickers='["NVDA", "MSFT", "AMD", "AVGO", "MU", "TSM", "INTC", "QCOM"]')
    assert main(["run", str(path), "--offline"]) == 0
    out, err = capfd.readouterr()
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert lines[0] == "prices: 9 tickers" and lines[-1] == "prices: 9/9"
    assert len(lines) <= PLAIN_STEPS + 1 and all(line.startswith("prices: ") for line in lines)
    assert out.count("\n") < 80  # the summary, not the report
    assert main(["run", str(path), "--offline", "--quiet"]) == 0
    assert capfd.readouterr() == ("", "")


def test_engine_options_that_cannot_work_together_are_refused(capsys):
    assert main(["run", "exdiv-2024", "--offline", "--dask", "--engine", "stream", "--quiet"]) == 2
    assert "--dask runs the dask engine" in capsys.readouterr().err
    assert main(["run", "exdiv-2024", "--offline", "--engine", "stream", "--chunk-size", "0", "--quiet"]) == 2
    assert "--chunk-size must be a positive" in capsys.readouterr().err


def test_a_sample_study_streamed_reports_what_the_in_memory_engine_reports(tmp_path):
    """Same report (its numbers are rounded), same results but Kolari–Pynnönen's r̄, which the
    chunked engine takes from the sum identity (and the tests that read it), and the tests only the
    in-memory engine computes (the streamed results say so)."""
    import pandas as pd

    from eventstudy.core.inference import MEMORY_ONLY, READ_RBAR

    for engine in ("memory", "stream"):
        assert (
            main(["run", "exdiv-2024", "--offline", "--quiet", "--engine", engine, "--out", str(tmp_path / engine)])
            == 0
        )
    cars = [pd.read_csv(tmp_path / e / "results" / "car.csv") for e in ("memory", "stream")]
    pd.testing.assert_frame_equal(*cars, rtol=1e-9)
    tests = [pd.read_csv(tmp_path / e / "results" / "tests.csv") for e in ("memory", "stream")]
    other = ~tests[0].test.isin(READ_RBAR | MEMORY_ONLY)
    same = [c for c in tests[0].columns if c != "rbar"]  # r̄ itself: the identity's, every row carries it
    pd.testing.assert_frame_equal(tests[0][other][same], tests[1][other][same], rtol=1e-9)
    streamed = tests[1][tests[1].test.isin(MEMORY_ONLY)]
    assert streamed.stat.isna().all() and streamed.detail.str.contains("engine='memory'").all()


def test_panel_writes_a_parquet_panel_from_a_csv(tmp_path, capsys):
    import pandas as pd

    from eventstudy.data.panel import ParquetPanel

    wide = pd.DataFrame({"date": pd.bdate_range("2024-01-02", periods=5), "AAA": 0.01, "BBB": -0.02})
    wide.to_csv(tmp_path / "r.csv", index=False)
    assert main(["panel", str(tmp_path / "p"), "--csv", str(tmp_path / "r.csv"), "--per-file", "1"]) == 0
    assert "2 tickers × 5 sessions in 2 files" in capsys.readouterr().out
    panel = ParquetPanel.open(tmp_path / "p")
    assert list(panel.columns) == ["AAA", "BBB"] and len(panel.index) == 5
    assert main(["panel", str(tmp_path / "q"), "--tickers", "AAPL"]) == 2
    assert "needs --start and --end" in capsys.readouterr().err


def _command(*args, **kwargs):
    """``python -m eventstudy ARGS`` as a user's shell runs it: its output to a pipe buffered."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-m", "eventstudy", *args], text=True, env=env, **kwargs)


def test_the_command_ends_with_its_status_and_all_it_printed(tmp_path):
    """The process ends at once after the command (no clean-up of the loaded modules): what it
    printed to a pipe is flushed first, whatever the status."""
    listed = _command("list", cwd=tmp_path, capture_output=True)
    assert listed.returncode == 0 and listed.stderr == ""
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "buffett-2025",
        "crsp-format-example",
        "deepseek-2025",
        "exdiv-2024",
        "tariff-pause-2025",
    ]
    unknown = _command("run", "no-such-study", cwd=tmp_path, capture_output=True)
    assert unknown.returncode == 2 and unknown.stdout == "" and "no such study" in unknown.stderr


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """`eventstudy list | head -1`: the pipe closed before the list is written ends the command
    quietly (as a shell reports SIGPIPE), not with an error about the outputs."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        done = _command("list", cwd=tmp_path, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert done.returncode in (0, 141) and done.stderr == ""
