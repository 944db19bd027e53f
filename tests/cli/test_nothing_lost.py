"""Every command that writes is a transaction and leaves what the user owns as it was: ``init``
never overwrites nor copies a folder into itself, ``panel`` swaps in only a whole, verified
panel, a mistyped bound is a usage error before anything is allocated, a full disk names the
place and keeps the previous outputs, a placebo that cannot draw still writes the study's
report, and ``--quiet`` is quiet. Real files in temporary folders; subprocesses where a run is
killed, capped in memory or in file size."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from eventstudy.cli import main
from eventstudy.data.panel import PanelError, ParquetPanel, write_panel

from ..helpers import REPO, study_file

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _cli(args, cwd, limit=None, timeout=600):
    """``python -m eventstudy ARGS`` in a subprocess, optionally under resource limits."""

    def cap():
        for which, value in (limit or {}).items():
            resource.setrlimit(which, (value, value))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file over the size limit fails to write

    return subprocess.run(
        [sys.executable, "-m", "eventstudy", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
    )


# --- init -------------------------------------------------------------------------------------


def test_init_keeps_a_users_files_in_the_target(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "analyses" / "mine"
    mine.mkdir(parents=True)
    (mine / "events.csv").write_text("ticker,date\nAAPL,2024-08-12\n")
    (mine / "make_events.py").write_text("# my script\n")
    before = _tree(mine)
    assert main(["init", "mine", "--from", "exdiv-2024"]) == 2
    err = capsys.readouterr().err
    assert "analyses/mine already holds events.csv, make_events.py: nothing was written" in err
    assert _tree(mine) == before
    assert main(["init", "mine", "--from", "exdiv-2024", "--force"]) == 0
    out = capsys.readouterr().out
    assert "(study.toml); kept what was there: events.csv, make_events.py" in out
    after = _tree(mine)
    assert {k: after[k] for k in before} == before and set(after) == {*before, "study.toml"}


def test_init_from_the_current_study_folder_cannot_copy_into_itself(tmp_path, monkeypatch, capsys):
    project = study_file(tmp_path).parent
    (project / "results").mkdir()
    (project / "results" / "car.csv").write_text("an output\n")
    monkeypatch.chdir(project)
    before = _tree(project)
    assert main(["init", "sub", "--from", "."]) == 2
    assert "holds the new study's folder analyses/sub: a study cannot be copied into itself" in capsys.readouterr().err
    assert _tree(project) == before and not (project / "analyses").exists()


def test_init_from_another_folder_copies_only_the_definition(tmp_path, monkeypatch, capsys):
    template = study_file(tmp_path).parent
    (template / "results").mkdir()
    (template / "results" / "car.csv").write_text("an output\n")
    (template / "REPORT.md").write_text("a report\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["init", "copy", "--from", str(template)]) == 0
    assert sorted(_tree(work / "analyses" / "copy")) == ["study.toml"]


# --- bounds before allocation -----------------------------------------------------------------

GIB = 1 << 30


@pytest.mark.parametrize(
    "args, message",
    [
        (["--estimation", "-300000000", "-11"], "reaches more than 2520 sessions"),
        (["--window", "0", "1e20"], "invalid int value: '1e20'"),
        (["--window", "0", "300000000"], "reaches more than 2520 sessions"),
        (["--draws", "0"], "--draws must be at least 1"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--chunk-size", "0"], "--chunk-size must be a positive number"),
    ],
)
def test_an_absurd_bound_is_a_usage_error_under_a_memory_cap(tmp_path, args, message):
    """Once a mistyped number grew the process to 23 GB: now it is refused before anything is
    allocated, so a 1.5 GB address-space cap is never reached (exit 2, not MemoryError)."""
    command = "placebo" if args[0] in ("--draws", "--workers") else "run"
    done = _cli(
        [command, "deepseek-2025", "--offline", "--quiet", "--out", "o", *args],
        tmp_path,
        {resource.RLIMIT_AS: 3 * GIB // 2},
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "MemoryError" not in done.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "analyses").exists()  # nothing copied or written


def test_an_absurd_window_in_a_study_file_is_refused_by_run_and_listed_by_list(tmp_path):
    path = study_file(tmp_path, estimation="[-300000000, -11]")
    project = tmp_path / "project"
    (project / "analyses").mkdir(parents=True)
    path.parent.rename(project / "analyses" / "huge")
    cap = {resource.RLIMIT_AS: 3 * GIB // 2}
    done = _cli(["run", "huge", "--offline", "--quiet"], project, cap)
    assert done.returncode == 2 and "field 'model.estimation'" in done.stderr and "2520 sessions" in done.stderr
    listed = _cli(["list"], project, cap)
    assert listed.returncode == 0 and "huge" in listed.stdout and "not valid" in listed.stdout


# --- panel ------------------------------------------------------------------------------------


def _returns(n_tickers=6, n_days=40, seed=0):
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2024-01-02", periods=n_days, name="date")
    return pd.DataFrame(
        rng.normal(0, 0.01, (n_days, n_tickers)), index=days, columns=[f"T{i}" for i in range(n_tickers)]
    )


_BIG_PANEL = """
import sys, numpy as np, pandas as pd
from eventstudy.data.panel import write_panel
days = pd.bdate_range("2010-01-04", periods=2000, name="date")
big = pd.DataFrame(np.random.default_rng(1).normal(0, 0.01, (2000, 1500)), index=days,
                   columns=[f"X{i}" for i in range(1500)])
print("writing", flush=True)
write_panel(big, sys.argv[1], tickers_per_file=5)
"""


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_a_panel_write_killed_half_way_leaves_the_old_panel(tmp_path, delay):
    old = _returns()
    write_panel(old, tmp_path / "p", tickers_per_file=4)
    before = _tree(tmp_path / "p")
    proc = subprocess.Popen(
        [sys.executable, "-c", _BIG_PANEL, str(tmp_path / "p")], stdout=subprocess.PIPE, text=True, env=ENV
    )
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    panel = ParquetPanel.open(tmp_path / "p")  # the old one, or the whole new one: never a part
    if list(panel.columns) == list(old.columns):
        assert _tree(tmp_path / "p") == before
    else:
        assert len(panel.columns) == 1500
    write_panel(old, tmp_path / "p", tickers_per_file=4)  # the next write sweeps the killed one's staging
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_a_panel_command_that_cannot_work_leaves_the_old_panel(tmp_path, capsys):
    write_panel(_returns(), tmp_path / "p", tickers_per_file=4)
    before = _tree(tmp_path / "p")
    wide = _returns(3).reset_index()
    wide.to_csv(tmp_path / "r.csv", index=False)
    assert main(["panel", str(tmp_path / "p"), "--csv", str(tmp_path / "r.csv"), "--per-file", "0"]) == 2
    assert "--per-file must be a positive number" in capsys.readouterr().err
    repeated = pd.concat([wide, wide.iloc[[3]]])
    repeated.to_csv(tmp_path / "twice.csv", index=False)
    assert main(["panel", str(tmp_path / "p"), "--csv", str(tmp_path / "twice.csv")]) == 1
    assert "a date appears twice (2024-01-05)" in capsys.readouterr().err
    code = main(
        [
            "panel",
            str(tmp_path / "p"),
            "--tickers",
            "NOSUCH",
            "--start",
            "2024-01-02",
            "--end",
            "2024-03-01",
            "--offline",
        ]
    )
    assert code == 1 and "no ticker has returns: nothing was written" in capsys.readouterr().err
    assert _tree(tmp_path / "p") == before


def test_panel_never_empties_a_folder_of_another_tools_files(tmp_path, capsys):
    folder = tmp_path / "spark"
    folder.mkdir()
    _returns(2).to_parquet(folder / "part-00000.parquet")  # Spark's or pyarrow's own output
    (folder / "_SUCCESS").write_text("")
    before = _tree(folder)
    _returns(3).reset_index().to_csv(tmp_path / "r.csv", index=False)
    assert main(["panel", str(folder), "--csv", str(tmp_path / "r.csv")]) == 1
    assert "holds files that are not an eventstudy panel (_SUCCESS, part-00000.parquet): nothing was changed" in (
        capsys.readouterr().err
    )
    assert _tree(folder) == before
    with pytest.raises(PanelError, match="is not an eventstudy panel"):
        ParquetPanel.open(folder)


def test_a_panel_cut_short_is_refused_when_opened(tmp_path):
    write_panel(_returns(), tmp_path / "p", tickers_per_file=2)
    (tmp_path / "p" / "part-00002.parquet").unlink()
    with pytest.raises(PanelError, match="incomplete: part-00002.parquet is missing"):
        ParquetPanel.open(tmp_path / "p")


def test_panel_dates_are_checked_as_options(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["panel", str(tmp_path / "p"), "--tickers", "AAPL", "--start", "2024-13-01", "--end", "2024-02-01"])
    assert exit_.value.code == 2
    assert "argument --start: '2024-13-01' is not a date YYYY-MM-DD" in capsys.readouterr().err
    assert (
        main(["panel", str(tmp_path / "p"), "--tickers", "AAPL", "--start", "2024-03-01", "--end", "2024-02-01"]) == 2
    )
    assert "--start 2024-03-01 is after --end 2024-02-01" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


# --- disk and placebo -------------------------------------------------------------------------


def test_a_full_disk_names_the_place_and_keeps_the_previous_outputs(tmp_path):
    """Writes over 200 kB fail (RLIMIT_FSIZE, as a full disk fails them): the run says where,
    exits 1, and the previous report, results and figures are byte for byte as they were."""
    path = study_file(tmp_path)
    assert _cli(["run", str(path), "--offline", "--quiet", "--out", "o"], tmp_path).returncode == 0
    before = _tree(tmp_path / "o")
    done = _cli(["run", str(path), "--offline", "--quiet", "--out", "o"], tmp_path, {resource.RLIMIT_FSIZE: 200_000})
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("eventstudy: error: o: File too large")  # the output folder, as typed
    assert "error::" not in done.stderr and "Traceback" not in done.stderr
    assert _tree(tmp_path / "o") == before


def test_a_placebo_without_a_pseudo_event_still_writes_the_studys_report(tmp_path, capsys):
    # CRWV listed on 28 March 2025: no later session leaves room for the windows
    path = study_file(tmp_path, event="2025-06-20", estimation="[-60, -11]", min_obs=45, tickers='["CRWV"]')
    code = main(["placebo", str(path), "--offline", "--quiet", "--draws", "10", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "no pseudo-event fits the data" in err and "internal error" not in err
    assert (tmp_path / "o" / "REPORT.md").is_file() and (tmp_path / "o" / "results" / "car.csv").is_file()


# --- quiet ------------------------------------------------------------------------------------


def test_panel_and_snapshot_are_quiet_under_quiet(tmp_path, capsys, monkeypatch):
    import eventstudy.data.snapshot as snapshot

    _returns(3).reset_index().to_csv(tmp_path / "r.csv", index=False)
    assert main(["panel", str(tmp_path / "p"), "--csv", str(tmp_path / "r.csv"), "--quiet"]) == 0
    lines = [snapshot.ManifestEntry(p, "0" * 64, 1, "-", "-", "s") for p in ("prices.parquet:A", "prices.parquet:B")]
    written = [snapshot.ManifestEntry("prices.parquet", "0" * 64, 2, "-", "-", "s"), *lines]
    written.append(snapshot.ManifestEntry("tables/t.parquet", "0" * 64, 1, "-", "-", "s"))
    monkeypatch.setattr(snapshot, "build_snapshot", lambda source: written)
    assert main(["snapshot", "--from", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["snapshot", "--from", str(tmp_path)]) == 0
    assert "wrote the prices of 2 tickers (one file), 1 tables and MANIFEST" in capsys.readouterr().out
