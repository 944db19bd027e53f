"""Figures drawn with a worker process are the files drawn without one, byte for byte; a
worker that cannot start or dies leaves its figures to this process."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from eventstudy.report import render
from eventstudy.report.render import Drawing, FigureJob, FigureWorkers


def _jobs(n: int = 5) -> list[FigureJob]:
    rng = np.random.default_rng(1)
    dates = pd.Series(pd.bdate_range("2024-01-01", periods=40)).sample(30, random_state=1)
    jobs = []
    for i in range(n):
        cars = pd.DataFrame({"window": ["[0,0]"] * 50 + ["[-1,+1]"] * 50, "car": rng.normal(0, 0.02, 100)})
        jobs.append(FigureJob(f"dist{i}", "car_distribution", (cars,)))
    jobs.append(FigureJob("events", "events_over_time", (dates,)))
    return jobs


def render_figures(jobs, folder, workers=None):
    with Drawing(jobs, folder, workers) as drawing:
        return drawing.finish()


def _bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alone")
    render_figures(_jobs(), folder)
    return _bytes(folder)


def test_a_worker_draws_the_same_files(tmp_path, alone):
    with FigureWorkers() as workers:
        assert workers.process is not None and workers.process.is_alive()  # this machine has two cores
        first = render_figures(_jobs(), tmp_path / "a", workers)
        render_figures(_jobs(), tmp_path / "b", workers)  # one worker serves many calls
    assert sorted(p.name for p in first.values()) == sorted(alone)
    assert _bytes(tmp_path / "a") == alone and _bytes(tmp_path / "b") == alone  # no batch file is left
    assert workers.process is None


def test_the_worker_takes_jobs_from_the_front_and_this_process_from_the_back(tmp_path, monkeypatch):
    drawn_here = []
    original = render.draw

    def slow_here(job, path, style=render.DEFAULT_STYLE):
        drawn_here.append(job.name)
        time.sleep(1.0)  # the worker gets ready (about a second) and takes the front meanwhile
        return original(job, path, style)

    monkeypatch.setattr(render, "draw", slow_here)  # in this process only
    with FigureWorkers() as workers:
        render_figures(_jobs(), tmp_path / "x", workers)
    names = [j.name for j in _jobs()]
    assert drawn_here and drawn_here == names[::-1][: len(drawn_here)]  # from the back
    assert len(drawn_here) < len(names)  # the worker drew the rest
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == sorted(f"{n}.png" for n in names)


def test_without_a_worker_everything_is_drawn_here(tmp_path, alone, monkeypatch):
    monkeypatch.setattr(render.os, "cpu_count", lambda: 1)
    with FigureWorkers() as workers:
        assert workers.process is None
        render_figures(_jobs(), tmp_path, workers)
    assert _bytes(tmp_path) == alone


def test_a_dead_worker_leaves_its_figures_to_this_process(tmp_path, alone):
    with FigureWorkers() as workers:
        workers.process.kill()
        workers.process.join()
        render_figures(_jobs(), tmp_path, workers)
    assert _bytes(tmp_path) == alone


def test_a_figure_that_fails_fails_the_run(tmp_path):
    bad = [FigureJob(f"bad{i}", "car_distribution", (pd.DataFrame({"x": [1.0]}),)) for i in range(3)]
    with FigureWorkers() as workers, pytest.raises(AttributeError):
        render_figures(bad, tmp_path, workers)


def test_a_cancelled_drawing_leaves_no_file_after_it_returns(tmp_path):
    """Cancelled (this process failed while the worker draws), the worker takes no more jobs
    and the one it draws is waited for: nothing appears in the folder afterwards."""
    with FigureWorkers() as workers:
        drawing = Drawing(_jobs(40), tmp_path, workers)
        deadline = time.monotonic() + 30
        while not any(tmp_path.glob("*.png")) and time.monotonic() < deadline:
            time.sleep(0.01)  # the worker is ready and drawing
        drawing.cancel()
        drawn = sorted(tmp_path.glob("*.png"))
        time.sleep(1.0)
        assert sorted(tmp_path.glob("*.png")) == drawn and 0 < len(drawn) < 41
        assert render_figures(_jobs(), tmp_path / "next", workers)  # the worker serves the next call


def test_jobs_added_while_the_worker_draws_are_the_files_drawn_at_once(tmp_path, alone):
    """A drawing that grows (its first jobs handed while the analysis still runs) draws each job
    once, the same bytes as all of them drawn here at once; the worker serves the next drawing."""
    jobs = _jobs()
    with FigureWorkers() as workers:
        with Drawing(jobs[:2], tmp_path / "a", workers) as drawing:
            drawing.add(jobs[:3])  # the first two again, unchanged, and one more
            drawing.add(jobs)
            assert [j.name for j in drawing.jobs] == [j.name for j in jobs] and drawing.again == []
            drawing.finish()
        render_figures(jobs, tmp_path / "b", workers)
    assert _bytes(tmp_path / "a") == alone and _bytes(tmp_path / "b") == alone


def test_a_job_added_again_with_other_inputs_is_drawn_again(tmp_path, monkeypatch):
    """Its name is its file: the second job's figure is the one left, drawn after the first."""
    first, second = _jobs(1)[0], _jobs(2)[1]
    second = FigureJob(first.name, second.draw, second.args)
    render.draw(second, tmp_path / "want.png")
    drawn = []
    original = render.draw
    monkeypatch.setattr(
        render, "draw", lambda job, path, style=render.DEFAULT_STYLE: drawn.append(job) or original(job, path, style)
    )
    with Drawing([first], tmp_path / "x") as drawing:
        drawing.add([second])
        assert drawing.again == [first.name]
        drawing.finish()
    assert drawn == [first, second]
    assert (tmp_path / "x" / f"{first.name}.png").read_bytes() == (tmp_path / "want.png").read_bytes()


def test_a_png_is_what_savefig_writes(tmp_path):
    """The figures' PNGs are drawn once with the layout run inside (savefig draws twice): the
    same bytes as savefig's, for a figure whose constrained layout moves its axes."""
    from eventstudy.report import figures

    job = _jobs(1)[0]
    for dpi in (72, 110, 200):
        fig = getattr(figures, job.draw)(*job.args)
        fig.savefig(tmp_path / "savefig.png", dpi=dpi, metadata={"Software": None})
        fig = getattr(figures, job.draw)(*job.args)
        figures.save_png(fig, tmp_path / "once.png", dpi, {"Software": None})
        assert (tmp_path / "once.png").read_bytes() == (tmp_path / "savefig.png").read_bytes()


def test_the_worker_leaves_nothing_for_pythons_exit_to_clean_up(tmp_path):
    """The command ends without Python's clean-up (``cli.entry``): the worker's shared flags
    must be released when it is left, or the resource tracker warns of a leaked semaphore."""
    import subprocess
    import sys

    code = (
        "import os\nfrom eventstudy.report.render import FigureWorkers\nkept = []\n"
        "with FigureWorkers() as workers:\n    kept.append(workers)\nos._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and "leaked" not in done.stderr, done.stderr
