"""Figures drawn to PNG files: here, or shared with a worker process.

A figure is a :class:`FigureJob`: the name of a drawing function of :mod:`.figures` and its
tidy inputs. :func:`render_figures` draws jobs one after another. Drawing is most of a run's
time after the analysis, and matplotlib runs on one core, so the command line opens
:class:`FigureWorkers` at the start of a run: a worker process that imports matplotlib while
the analysis runs, then draws jobs from the front of the list while this process draws from
the back (each job taken once, by a flag in shared memory). Both draw with the same code and
settings, so the files are the same byte for byte either way; if the worker cannot start or
dies, this process draws what it left.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIG_DPI = 110
MAX_SHARED = 64  # jobs of one call that the worker may take; any more are drawn here


@dataclass(frozen=True)
class FigureJob:
    name: str  # the file is <name>.png
    draw: str  # a function of eventstudy.figures
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def draw(job: FigureJob, path: Path) -> Path:
    """Draw one figure and save it (no timestamps or versions in the file)."""
    from . import figures

    fig = getattr(figures, job.draw)(*job.args, **job.kwargs)
    fig.savefig(path, dpi=FIG_DPI, metadata={"Software": None})
    return path


def render_figures(jobs: list[FigureJob], fig_dir: Path, workers: FigureWorkers | None = None) -> dict[str, Path]:
    """Draw every job into ``fig_dir``; returns name → file."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    paths = [fig_dir / f"{job.name}.png" for job in jobs]
    pool = workers.pool if workers is not None else None
    if pool is None:
        for job, path in zip(jobs, paths, strict=True):
            draw(job, path)
        return {job.name: path for job, path in zip(jobs, paths, strict=True)}
    claims = workers.claims
    shared = min(len(jobs), len(claims))
    claims[:] = [0] * len(claims)
    futures: dict[int, Future] = {}
    for i in range(shared):
        try:
            futures[i] = workers.submit(_draw_claimed, i, jobs[i], paths[i])
        except (BrokenProcessPool, RuntimeError):  # the worker is gone: the rest are drawn here
            break
    for i in reversed(range(len(jobs))):  # the worker takes jobs from the front, this process from the back
        if i >= shared or _claim(claims, i):
            draw(jobs[i], paths[i])
    for i, future in futures.items():
        try:
            future.result()
        except BrokenProcessPool:  # the worker died, perhaps while drawing this one
            draw(jobs[i], paths[i])
    for i in range(len(futures), shared):  # never handed to the worker
        if _claim(claims, i):
            draw(jobs[i], paths[i])
    return {job.name: path for job, path in zip(jobs, paths, strict=True)}


_CLAIMS = None  # in a worker: the claims shared with the process that started it


def _claim(claims, i: int) -> bool:
    """Take job ``i`` unless the other process has taken it."""
    with claims.get_lock():
        if claims[i]:
            return False
        claims[i] = 1
        return True


def _draw_claimed(i: int, job: FigureJob, path: Path) -> None:
    if _claim(_CLAIMS, i):
        draw(job, path)


def _warm(claims) -> None:
    """A worker's start: imports, fonts and the renderer made ready; Ctrl-C is for the parent."""
    global _CLAIMS
    _CLAIMS = claims
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from . import figures

    figures.warm_up(FIG_DPI)


class FigureWorkers:
    """A worker process for figures, started when entered (so it gets ready while the
    analysis runs) and stopped when left. On a machine with one core, or where no process
    can be started, there is none and :func:`render_figures` draws everything here."""

    def __init__(self) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.claims = None  # a shared flag per job: taken by this process or the worker
        self._futures: list[Future] = []

    def __enter__(self) -> FigureWorkers:
        if (os.cpu_count() or 1) > 1:
            try:
                ctx = multiprocessing.get_context("spawn")
                self.claims = ctx.Array("b", MAX_SHARED)
                self.pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=ctx, initializer=_warm, initargs=(self.claims,)
                )
                self.submit(os.getpid)  # starts the process now; its pid ends it on leaving
            except (OSError, RuntimeError):
                self.pool = None
        return self

    def submit(self, fn, *args) -> Future:
        future = self.pool.submit(fn, *args)
        self._futures.append(future)
        return future

    def __exit__(self, *exc) -> None:
        """Stop the worker. When it has nothing left to do it holds nothing to save, and is
        ended rather than waited for (a Python process with matplotlib loaded takes a while
        to tear down); after an error it is let finish its figure, the others cancelled."""
        if self.pool is None:
            return
        pool, self.pool = self.pool, None
        if not all(f.done() for f in self._futures):
            pool.shutdown(wait=True, cancel_futures=True)
            return
        pool.shutdown(wait=False)
        if self._futures[0].exception() is None:
            with contextlib.suppress(OSError):
                os.kill(self._futures[0].result(), signal.SIGTERM)
        pool.shutdown(wait=True)
