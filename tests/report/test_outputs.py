"""Output sets own exactly the files they write: a user's files beside them survive byte for byte;
a run that would overwrite one stops before the analysis; a run that fails or is killed while
writing leaves the previous set whole (killed during the commit, the next run finishes it), and
its staging is swept by the next run; two runs never write one set at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstudy import cli
from eventstudy.report import outputs
from eventstudy.report import writer as report
from eventstudy.report.outputs import JOURNAL, MANIFEST, OutputError, OutputSet, check_writable
from eventstudy.report.render import FigureWorkers
from eventstudy.study.checks import with_overrides
from eventstudy.study.pipeline import run_study
from eventstudy.study.studyfile import load_study

from ..helpers import study_file


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _set(folder, text, n=3):
    """Write a small set (a report and ``n`` results files) holding ``text``."""
    outs = OutputSet(folder, folder / "figures")
    with outs.staging() as staged:
        (staged.root / "results").mkdir()
        for i in range(n):
            (staged.root / "results" / f"{i}.csv").write_text(f"{text} {i}")
        (staged.root / "REPORT.md").write_text(text)
        (staged.figures / "f.png").write_text(f"figure {text}")


def _visible(folder):
    return {k: v for k, v in _snapshot(folder).items() if not any(part.startswith(".") for part in k.split("/"))}


def test_a_set_replaces_its_own_files_and_leaves_the_users(tmp_path):
    _set(tmp_path, "old")
    (tmp_path / "results" / "mine.csv").write_text("a user's table")
    (tmp_path / "figures" / "fig1_my_paper.png").write_text("a user's figure")
    _set(tmp_path, "new", n=2)
    assert _visible(tmp_path) == {
        "REPORT.md": b"new",
        "results/0.csv": b"new 0",
        "results/1.csv": b"new 1",
        "results/mine.csv": b"a user's table",
        "figures/f.png": b"figure new",
        "figures/fig1_my_paper.png": b"a user's figure",
    }  # the old set's 2.csv is gone: the set owned it; the user's files are untouched
    files = json.loads((tmp_path / MANIFEST).read_text())["files"]
    assert files == ["REPORT.md", "figures/f.png", "results/0.csv", "results/1.csv"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [MANIFEST]


def test_a_file_the_set_does_not_own_is_never_overwritten(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "0.csv").write_text("a user's table named like an output")
    with pytest.raises(OutputError, match="would overwrite 1 file that no record of an earlier run claims"):
        _set(tmp_path, "new")
    assert _visible(tmp_path) == {"results/0.csv": b"a user's table named like an output"}


def test_beside_a_record_a_file_it_does_not_list_is_one_eventstudy_did_not_write(tmp_path):
    _set(tmp_path, "old", n=1)
    (tmp_path / "results" / "1.csv").write_text("a user's table named like a new output")
    with pytest.raises(OutputError, match="would overwrite 1 file eventstudy did not write: .*results/1.csv"):
        _set(tmp_path, "new", n=2)
    assert (tmp_path / "results" / "1.csv").read_text() == "a user's table named like a new output"


def test_the_outputs_of_a_run_whose_folder_was_removed_are_named_as_such(tmp_path):
    _set(tmp_path / "study", "old")
    (tmp_path / "study" / MANIFEST).unlink()  # the study folder removed and made again; its figures stayed
    (tmp_path / "study" / "results" / "0.csv").unlink()
    with pytest.raises(OutputError) as err:
        _set(tmp_path / "study", "new")
    assert f"({tmp_path / 'study' / MANIFEST} is missing)" in str(err.value)
    assert "If they are the outputs of a run whose folder was removed, delete them" in str(err.value)


def test_a_failure_while_writing_leaves_the_old_set(tmp_path):
    _set(tmp_path, "old")
    before = _snapshot(tmp_path)
    with pytest.raises(RuntimeError, match="figure failed"):
        with OutputSet(tmp_path, tmp_path / "figures").staging() as staged:
            (staged.root / "REPORT.md").write_text("half")
            raise RuntimeError("figure failed")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4, 5])
def test_a_crash_during_the_commit_is_finished_by_the_next_run(tmp_path, monkeypatch, crash_at):
    """Killed after the journal, at each file's move: the next run rolls forward, and the folder
    then holds the new set whole, as if nothing had happened."""
    _set(tmp_path, "old")
    real, calls = os.replace, []

    def dying(src, dst):
        calls.append(1)
        if len(calls) == crash_at + 1:  # the first os.replace installs the journal
            raise KeyboardInterrupt("killed")
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", dying)
    with pytest.raises(KeyboardInterrupt):
        _set(tmp_path, "new", n=2)
    monkeypatch.setattr(outputs.os, "replace", real)
    assert (tmp_path / JOURNAL).is_file()
    OutputSet(tmp_path, tmp_path / "figures").recover()
    assert not (tmp_path / JOURNAL).exists()
    assert _visible(tmp_path) == {
        "REPORT.md": b"new",
        "results/0.csv": b"new 0",
        "results/1.csv": b"new 1",
        "figures/f.png": b"figure new",
    }


_KILLED = """
import sys, time
from pathlib import Path
from eventstudy.report.outputs import OutputSet
folder = Path(sys.argv[1])
with OutputSet(folder, folder / "figures").staging() as staged:
    (staged.root / "REPORT.md").write_text("new")
    (staged.figures / ".jobs.pickle").write_bytes(b"the figure worker's batch")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_run_killed_while_writing_leaves_the_previous_set_and_the_next_run_sweeps(tmp_path, monkeypatch):
    _set(tmp_path, "old")
    before = _snapshot(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    monkeypatch.setattr(outputs, "LOCK_WAIT", 0.3)
    with pytest.raises(OutputError, match="another eventstudy run has been writing to .* nothing was changed"):
        _set(tmp_path, "meanwhile")  # one run at a time: waited for, up to LOCK_WAIT
    monkeypatch.undo()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _visible(tmp_path) == {k: v for k, v in before.items() if not k.startswith(".")}
    assert list(tmp_path.rglob(".eventstudy-staging-*"))  # the killed run's, hidden
    _set(tmp_path, "next")  # at once: no waiting for debris to age
    hidden = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob(".*"))
    assert hidden == [MANIFEST]


_SLOW = """
import sys, time
from pathlib import Path
from eventstudy.report.outputs import OutputSet
folder = Path(sys.argv[1])
with OutputSet(folder, folder / "figures").staging() as staged:
    (staged.root / "REPORT.md").write_text("first")
    (staged.root / "results").mkdir()
    (staged.root / "results" / "first-only.csv").write_text("first")
    print("writing", flush=True)
    time.sleep(1.5)
"""


def test_two_runs_into_one_folder_take_turns(tmp_path):
    """The second waits while the first writes, then replaces its set whole: no interleaved
    renames, no false "previous outputs unchanged"."""
    proc = subprocess.Popen([sys.executable, "-c", _SLOW, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    _set(tmp_path, "second")
    assert proc.wait() == 0
    assert _visible(tmp_path) == {
        "REPORT.md": b"second",
        "results/0.csv": b"second 0",
        "results/1.csv": b"second 1",
        "results/2.csv": b"second 2",
        "figures/f.png": b"figure second",
    }
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == sorted(_visible(tmp_path))


def test_a_killed_second_run_of_a_study_leaves_the_first_runs_report(tmp_path, monkeypatch):
    """A market-adjusted rerun dying while it writes must not leave its CSVs under the market
    model's REPORT.md."""
    path = study_file(tmp_path)
    first = run_study(path)
    report.write(first)
    before = _snapshot(path.parent)
    second = run_study(with_overrides(load_study(path), model="market-adjusted"))

    def dying(*a, **k):
        raise KeyboardInterrupt("killed while drawing")

    monkeypatch.setattr(report.Drawing, "finish", dying)
    with pytest.raises(KeyboardInterrupt):
        report.write(second)
    assert _snapshot(path.parent) == before
    assert "market model" in (path.parent / "REPORT.md").read_text().lower()


def test_a_run_failing_while_the_worker_draws_leaves_no_staged_file(tmp_path, monkeypatch):
    """The figure worker draws while this process writes the tables: when that fails, the
    worker is stopped handing files into the staged folder before it is removed."""
    path = study_file(tmp_path)
    first = run_study(path)
    report.write(first)
    before = _snapshot(path.parent)

    def failing(*a, **k):
        time.sleep(2.0)  # the worker gets ready (about a second) and is drawing meanwhile
        raise RuntimeError("the disk is full")

    cancelled = []
    cancel = report.Drawing.cancel

    def spy(drawing):
        cancelled.append(len(drawing.jobs))
        cancel(drawing)

    monkeypatch.setattr(report, "write_results", failing)
    monkeypatch.setattr(report.Drawing, "cancel", spy)
    with FigureWorkers() as workers:
        with pytest.raises(RuntimeError, match="disk is full"):
            report.write(first, workers=workers)
        assert workers.process.is_alive()  # and ready for the next run's figures
    assert cancelled and cancelled[0] > 0  # the drawing was stopped before the staged folders went
    assert _snapshot(path.parent) == before  # nothing of the failed run


def test_a_study_outside_analyses_writes_beside_itself_and_keeps_the_users_files(tmp_path):
    path = study_file(tmp_path)
    (path.parent / "figures").mkdir()
    (path.parent / "figures" / "sketch.png").write_bytes(b"mine")
    (path.parent / "results").mkdir()
    (path.parent / "results" / "notes.txt").write_text("mine too")
    written = report.write(run_study(path))
    assert written == path.parent / "REPORT.md"
    assert (path.parent / "figures" / "ar_day0.png").is_file()
    assert "](figures/ar_day0.png)" in written.read_text()
    assert not (path.parent.parent / "figures").exists()
    assert (path.parent / "figures" / "sketch.png").read_bytes() == b"mine"
    assert (path.parent / "results" / "notes.txt").read_text() == "mine too"


def _cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "eventstudy", *args], cwd=cwd, capture_output=True, text=True)


def test_out_keeps_the_users_folders(tmp_path):
    """The issue's probe: a paper folder with the user's figure and table, then --out paper."""
    paper = tmp_path / "paper"
    (paper / "figures").mkdir(parents=True)
    (paper / "results").mkdir()
    (paper / "figures" / "fig1_my_paper.png").write_bytes(b"\x89PNG mine")
    (paper / "results" / "my_regressions.csv").write_text("coef\n0.5\n")
    done = _cli(["run", str(study_file(tmp_path)), "--offline", "--quiet", "--out", str(paper)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (paper / "figures" / "fig1_my_paper.png").read_bytes() == b"\x89PNG mine"
    assert (paper / "results" / "my_regressions.csv").read_text() == "coef\n0.5\n"
    assert (paper / "REPORT.md").is_file() and (paper / "figures" / "ar_day0.png").is_file()


def test_out_dot_in_a_project_touches_no_other_studys_figures(tmp_path):
    project = tmp_path / "project"
    other = project / "figures" / "deepseek-2025"
    other.mkdir(parents=True)
    (other / "ar_day0.png").write_bytes(b"another study's figure")
    path = study_file(tmp_path)
    done = _cli(["run", str(path), "--offline", "--quiet", "--out", "."], project)
    assert done.returncode == 0, done.stderr
    assert (other / "ar_day0.png").read_bytes() == b"another study's figure"
    assert (project / "figures" / "ar_day0.png").is_file()


def test_a_users_file_named_like_an_output_stops_the_run_before_the_analysis(tmp_path, monkeypatch, capsys):
    import eventstudy.study.pipeline as pipeline

    out = tmp_path / "o"
    (out / "results").mkdir(parents=True)
    (out / "results" / "car.csv").write_text("my own CARs\n")
    monkeypatch.setattr(pipeline, "run_study", lambda *a, **k: pytest.fail("the analysis ran"))
    assert cli.main(["run", str(study_file(tmp_path)), "--offline", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "would overwrite 1 file that no record of an earlier run claims" in err and "results/car.csv" in err
    assert (out / "results" / "car.csv").read_text() == "my own CARs\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "results", "figures", "results/stata", "notes", "figures/other"]),
            st.text("abcdefgh_", min_size=1, max_size=6).map(lambda s: f"{s}.txt"),
            st.binary(max_size=20),
        ),
        max_size=12,
    )
)
def test_any_tree_of_the_users_survives_every_run(tmp_path_factory, tree):
    folder = tmp_path_factory.mktemp("tree")
    for sub, name, data in tree:
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / name).write_bytes(data)
    before = _snapshot(folder)
    _set(folder, "one")
    _set(folder, "two", n=1)
    after = _snapshot(folder)
    owned = set(json.loads((folder / MANIFEST).read_text())["files"])
    assert {k: v for k, v in after.items() if k not in owned and k != MANIFEST} == before


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
    import eventstudy.study.pipeline as pipeline

    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "sub"
    monkeypatch.setattr(pipeline, "run_study", lambda *a, **k: pytest.fail("the analysis ran"))
    assert cli.main(["run", str(study_file(tmp_path)), "--offline", "--out", str(out)]) == 2
    assert "is a file" in capsys.readouterr().err
