"""Figures drawn with a worker process are the files drawn without one, byte for byte; a
worker that cannot start or dies leaves its figures to this process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy import render
from eventstudy.render import FigureJob, FigureWorkers, render_figures


def _jobs(n: int = 5) -> list[FigureJob]:
    rng = np.random.default_rng(1)
    dates = pd.Series(pd.bdate_range("2024-01-01", periods=40)).sample(30, random_state=1)
    jobs = []
    for i in range(n):
        cars = pd.DataFrame({"window": ["[0,0]"] * 50 + ["[-1,+1]"] * 50, "car": rng.normal(0, 0.02, 100)})
        jobs.append(FigureJob(f"dist{i}", "car_distribution", (cars,)))
    jobs.append(FigureJob("events", "events_over_time", (dates,)))
    return jobs


def _bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alone")
    render_figures(_jobs(), folder)
    return _bytes(folder)


def test_a_worker_draws_the_same_files(tmp_path, alone):
    with FigureWorkers() as workers:
        assert workers.pool is not None  # this machine has two cores
        paths = render_figures(_jobs(), tmp_path, workers)
        assert workers.pool.submit(int).result() == 0  # the worker lived through it
    assert sorted(p.name for p in paths.values()) == sorted(alone)
    assert _bytes(tmp_path) == alone
    assert workers.pool is None


def test_without_a_worker_everything_is_drawn_here(tmp_path, alone, monkeypatch):
    monkeypatch.setattr(render.os, "cpu_count", lambda: 1)
    with FigureWorkers() as workers:
        assert workers.pool is None
        render_figures(_jobs(), tmp_path, workers)
    assert _bytes(tmp_path) == alone


def test_a_dead_worker_leaves_its_figures_to_this_process(tmp_path, alone):
    import os
    import signal

    with FigureWorkers() as workers:
        os.kill(workers._futures[0].result(), signal.SIGKILL)
        render_figures(_jobs(), tmp_path, workers)
    assert _bytes(tmp_path) == alone


def test_a_figure_that_fails_fails_the_run(tmp_path):
    bad = [FigureJob("bad", "car_distribution", (pd.DataFrame({"x": [1.0]}),))]
    with FigureWorkers() as workers, pytest.raises(AttributeError):
        render_figures(bad * 3, tmp_path, workers)
