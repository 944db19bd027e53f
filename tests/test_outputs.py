"""Output sets are atomic: a run that fails or is killed while writing leaves the previous
report, results and figures whole (or, killed during the swap, the next run finishes it); a
bad output folder is refused before the analysis; a study outside analyses/ writes beside
itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from eventstudy import cli, outputs, report
from eventstudy.outputs import JOURNAL, OutputError, check_writable, output_set, recover
from eventstudy.pipeline import run_study
from eventstudy.study import load_study, with_overrides

from .test_errors import study_file


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _set(folder, text):
    """Write a small set (a file and a folder of files) holding ``text`` through output_set."""
    targets = {"report": folder / "REPORT.md", "results": folder / "results"}
    with output_set(targets, folder / JOURNAL) as staged:
        staged["results"].mkdir()
        for i in range(3):
            (staged["results"] / f"{i}.csv").write_text(f"{text} {i}")
        staged["report"].write_text(text)


def test_a_set_replaces_the_old_one_whole(tmp_path):
    _set(tmp_path, "old")
    (tmp_path / "results" / "stale.csv").write_text("from an older run")
    _set(tmp_path, "new")
    assert _snapshot(tmp_path) == {
        "REPORT.md": b"new",
        "results/0.csv": b"new 0",
        "results/1.csv": b"new 1",
        "results/2.csv": b"new 2",
    }  # no file of the old set survives beside the new one, nothing left over


def test_a_failure_while_writing_leaves_the_old_set(tmp_path):
    _set(tmp_path, "old")
    before = _snapshot(tmp_path)
    with pytest.raises(RuntimeError, match="figure failed"):
        with output_set({"report": tmp_path / "REPORT.md"}, tmp_path / JOURNAL) as staged:
            staged["report"].write_text("half")
            raise RuntimeError("figure failed")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4])
def test_a_crash_during_the_swap_is_finished_by_the_next_run(tmp_path, monkeypatch, crash_at):
    """Killed after the journal, at each rename of the swap: the next run rolls forward, and
    the folder then holds the new set whole, as if nothing had happened."""
    _set(tmp_path, "old")
    real, calls = os.replace, []

    def dying(src, dst):
        calls.append(1)
        if len(calls) == crash_at + 1:  # the first os.replace installs the journal
            raise KeyboardInterrupt("killed")
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", dying)
    with pytest.raises(KeyboardInterrupt):
        _set(tmp_path, "new")
    monkeypatch.setattr(outputs.os, "replace", real)
    assert (tmp_path / JOURNAL).is_file()
    recover(tmp_path / JOURNAL, [])
    assert not (tmp_path / JOURNAL).exists()
    got = _snapshot(tmp_path)
    assert got["REPORT.md"] == b"new" and got["results/0.csv"] == b"new 0"


_KILLED = """
import sys, time
from pathlib import Path
from eventstudy.outputs import JOURNAL, output_set
folder = Path(sys.argv[1])
with output_set({"report": folder / "REPORT.md", "results": folder / "results"}, folder / JOURNAL) as staged:
    staged["results"].mkdir()
    (staged["results"] / "0.csv").write_text("new 0")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_run_killed_while_writing_leaves_the_previous_set(tmp_path):
    _set(tmp_path, "old")
    before = _snapshot(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    visible = {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith(".")}
    assert visible == before  # the killed run's staging is hidden and changes nothing
    for leftover in tmp_path.glob(".*staging-*"):
        os.utime(leftover, (time.time() - outputs.STALE_SECONDS - 1,) * 2)
    _set(tmp_path, "next")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["REPORT.md", "results"]  # swept


def test_a_killed_second_run_of_a_study_leaves_the_first_runs_report(tmp_path, monkeypatch):
    """The issue's case: a market-adjusted rerun dying while it writes must not leave its CSVs
    under the market model's REPORT.md."""
    path = study_file(tmp_path)
    first = run_study(path)
    report.write(first)
    before = _snapshot(path.parent)
    second = run_study(with_overrides(load_study(path), model="market-adjusted"))

    def dying(*a, **k):
        raise KeyboardInterrupt("killed while drawing")

    monkeypatch.setattr(report, "render_figures", dying)
    with pytest.raises(KeyboardInterrupt):
        report.write(second)
    assert _snapshot(path.parent) == before
    assert "market model" in (path.parent / "REPORT.md").read_text().lower()


def test_a_study_outside_analyses_writes_its_figures_beside_itself(tmp_path):
    path = study_file(tmp_path)
    written = report.write(run_study(path))
    assert written == path.parent / "REPORT.md"
    assert (path.parent / "figures" / "ar_day0.png").is_file()
    assert "](figures/ar_day0.png)" in written.read_text()
    assert not (path.parent.parent / "figures").exists()


def test_a_file_in_the_way_of_the_output_is_refused(tmp_path):
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(OutputError, match="the output folder .*taken is a file, not a folder"):
        check_writable(tmp_path / "taken", "the output folder")
    with pytest.raises(OutputError, match="deeper cannot be made: .*taken is a file"):
        check_writable(tmp_path / "taken" / "deeper", "the output folder")


def test_an_unwritable_output_folder_is_refused(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match="is not writable \\(Permission denied\\); choose another with --out"):
        check_writable(tmp_path / "new" / "folder", "the output folder")


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_a_bad_out_fails_before_the_analysis(tmp_path, monkeypatch, capsys, where):
    import eventstudy.pipeline as pipeline

    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "sub"
    monkeypatch.setattr(pipeline, "run_study", lambda *a, **k: pytest.fail("the analysis ran"))
    assert cli.main(["run", str(study_file(tmp_path)), "--offline", "--out", str(out)]) == 1
    assert "is a file" in capsys.readouterr().err
