"""Figures drawn to PNG files: here, or shared with a worker process.

A figure is a :class:`FigureJob`: the name of a drawing function of :mod:`.figures` and its
tidy inputs. A :class:`Drawing` draws jobs one after another. Drawing is most of a run's
time after the analysis, and matplotlib runs on one core, so the command line opens
:class:`FigureWorkers` at the start of a run: a worker process that imports matplotlib while
the analysis runs, takes the first figures as soon as their inputs are known (while the rest
of the analysis runs), then draws jobs from the front of the list while this process draws
from the back (each job taken once, by a flag in shared memory). Both draw with the same code
and settings, so the files are the same byte for byte either way; if the worker cannot start
or dies, this process draws what it left.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIG_DPI = 110
MAX_SHARED = 64  # jobs of one call that the worker may take; any more are drawn here
FORMATS = ("png", "pdf", "svg")
# what each format records besides the drawing: nothing that changes from run to run
_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Date": None, "Creator": None},
}


@dataclass(frozen=True)
class FigureStyle:
    """How figures are saved: a PNG at ``dpi`` always (the reports embed it), and each of
    ``formats`` beside it (``pdf``, ``svg``: vector, for a paper); no timestamps or versions in
    any file, so a rerun writes the same bytes."""

    formats: tuple[str, ...] = ("png",)
    dpi: int = FIG_DPI

    def __post_init__(self) -> None:
        unknown = sorted(set(self.formats) - set(FORMATS))
        if unknown:
            raise ValueError(f"figure formats are {', '.join(FORMATS)}; not {', '.join(unknown)}")
        if not (isinstance(self.dpi, int) and 20 <= self.dpi <= 1200):
            raise ValueError(f"the figures' dpi must be a whole number from 20 to 1200, got {self.dpi!r}")

    @property
    def extra(self) -> tuple[str, ...]:
        return tuple(f for f in dict.fromkeys(self.formats) if f != "png")

    def files(self, png: Path) -> dict[str, Path]:
        """The files a figure drawn to ``png`` is saved in, by format: the PNG, and each other
        format beside it."""
        return {"png": png, **{fmt: png.with_suffix(f".{fmt}") for fmt in self.extra}}


DEFAULT_STYLE = FigureStyle()


@dataclass(frozen=True)
class FigureJob:
    name: str  # the file is <name>.png
    draw: str  # a function of eventstudy.report.figures
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def draw(job: FigureJob, path: Path, style: FigureStyle = DEFAULT_STYLE) -> Path:
    """Draw one figure and save it as ``path`` (a PNG) and in each of the style's other formats
    beside it (no timestamps or versions in any file)."""
    from . import figures

    fig = getattr(figures, job.draw)(*job.args, **job.kwargs)
    figures.save_png(fig, path, style.dpi, _METADATA["png"])
    for fmt, file in style.files(path).items():
        if fmt != "png":
            fig.savefig(file, format=fmt, dpi=style.dpi, metadata=_METADATA[fmt])
    return path


class Drawing:
    """Figures being drawn into ``fig_dir`` (a PNG each, and the style's other formats beside).
    Jobs are added as their inputs are known (:meth:`add`: the first ones while the analysis
    still runs) and handed to the worker at once, which draws them from the front;
    :meth:`finish` draws in this process from the back what the worker has not taken, then
    waits for it. Whatever this process does in between (the rest of the analysis, the tables,
    the report's text) overlaps the worker's drawing. Used as a context, an error inside it
    cancels the drawing (:meth:`cancel`)."""

    def __init__(
        self,
        jobs: list[FigureJob],
        fig_dir: Path,
        workers: FigureWorkers | None = None,
        style: FigureStyle = DEFAULT_STYLE,
    ) -> None:
        fig_dir.mkdir(parents=True, exist_ok=True)
        self.fig_dir, self.style = fig_dir, style
        self.jobs: list[FigureJob] = []
        self.paths: list[Path] = []
        self._pickled: dict[str, bytes] = {}
        self._again: list[FigureJob] = []
        self._workers = workers if workers is not None and workers.begin() else None
        self.add(jobs)

    def add(self, jobs: list[FigureJob]) -> None:
        """Add jobs to draw, handed to the worker at once. A job already added (its name and
        inputs) is not drawn twice; one added before under its name with other inputs is drawn
        again, here, once the first drawing of it is done (:attr:`again`)."""
        new = []
        for job in jobs:
            pickled = pickle.dumps(job)
            if job.name not in self._pickled:
                self._pickled[job.name] = pickled
                new.append(job)
            elif self._pickled[job.name] != pickled and all(j.name != job.name for j in self._again):
                self._again.append(job)
        paths = [self.fig_dir / f"{job.name}.png" for job in new]
        if self._workers is not None and new:  # jobs it cannot take are drawn here
            self._workers.share(new, paths, self.style, len(self.jobs))
        self.jobs += new
        self.paths += paths

    @property
    def again(self) -> list[str]:
        """The jobs added a second time with other inputs, drawn again by :meth:`finish`."""
        return [job.name for job in self._again]

    @property
    def files(self) -> dict[str, Path]:
        """Name → PNG file of each job (drawn once :meth:`finish` returns)."""
        return {job.name: path for job, path in zip(self.jobs, self.paths, strict=True)}

    def __enter__(self) -> Drawing:
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is not None:
            self.cancel()

    def finish(self) -> dict[str, Path]:
        jobs, paths, workers = self.jobs, self.paths, self._workers
        if workers is None:
            for job, path in zip(jobs, paths, strict=True):
                draw(job, path, self.style)
        else:
            for i in reversed(range(len(jobs))):  # the worker takes jobs from the front, this process from the back
                if workers.claim(i):
                    draw(jobs[i], paths[i], self.style)
            self._workers = None
            for i in workers.left_undone():  # the worker died: what it had taken is drawn here
                draw(jobs[i], paths[i], self.style)
        files = self.files
        for job in self._again:  # its first drawing is done: the file is drawn over
            draw(job, files[job.name], self.style)
        return files

    def cancel(self) -> None:
        """Draw nothing more: the jobs not yet taken are kept from the worker, and the one it is
        drawing is waited for, so that no file appears in the folder after it is removed."""
        workers, self._workers = self._workers, None
        if workers is None:
            return
        for i in range(len(self.jobs)):
            workers.claim(i)
        workers.left_undone()


def _claim(claims, i: int) -> bool:
    """Take job ``i`` unless the other process has taken it."""
    with claims.get_lock():
        if claims[i]:
            return False
        claims[i] = 1
        return True


def _serve(conn, claims) -> None:
    """The worker: get ready, then for each batch (numbered; a pickle file of jobs and paths,
    and the place of its first job among the drawing's) draw the jobs it can take from the
    front, report each one drawn, and say when it is through. A figure that fails here is not
    reported, so the parent draws it and meets the error itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent
    from . import figures

    figures.warm_up(FIG_DPI)
    while True:
        try:
            n, batch, base = conn.recv()
            jobs, paths, style = pickle.loads(Path(batch).read_bytes())
        except EOFError:
            return
        except OSError:  # this process drew them all and removed the batch: nothing left here
            conn.send((n, "through", None))
            continue
        for i, (job, path) in enumerate(zip(jobs, paths, strict=True), base):
            if i < len(claims) and _claim(claims, i):
                try:
                    draw(job, path, style)
                except Exception:  # noqa: BLE001 - drawn again here, where the error is raised
                    continue
                conn.send((n, "drawn", i))
        conn.send((n, "through", None))


class FigureWorkers:
    """A worker process for figures, started when entered (so it gets ready while the
    analysis runs) and ended when left. On a machine with one core, or where no process can
    be started, there is none and a :class:`Drawing` draws everything here."""

    def __init__(self) -> None:
        self.process = None
        self._conn = self._claims = None
        self._jobs, self._n, self._first = 0, 0, 1
        self._batches: list[Path] = []
        self._taken: set[int] = set()

    def __enter__(self) -> FigureWorkers:
        if (os.cpu_count() or 1) < 2:
            return self
        try:
            ctx = multiprocessing.get_context("spawn")
            self._claims = ctx.Array("b", MAX_SHARED)
            self._conn, child = ctx.Pipe()
            self.process = ctx.Process(target=_serve, args=(child, self._claims), daemon=True)
            self.process.start()
            child.close()
        except (OSError, RuntimeError):
            self.process = None
        return self

    def begin(self) -> bool:
        """Start serving a new drawing (its jobs numbered from 0); False when there is no
        worker to take them."""
        if self.process is None or not self.process.is_alive():
            return False
        self._claims[:] = [0] * len(self._claims)
        self._jobs, self._taken, self._batches, self._first = 0, set(), [], self._n + 1
        return True

    def share(self, jobs: list[FigureJob], paths: list[Path], style: FigureStyle, base: int) -> None:
        """Hand the worker the drawing's jobs from number ``base`` on (through a file beside the
        figures); if it cannot be reached, they stay for this process."""
        self._n += 1
        batch = paths[0].parent / f".jobs-{self._n}.pickle"
        batch.write_bytes(pickle.dumps((jobs, paths, style)))
        self._batches.append(batch)
        try:
            self._conn.send((self._n, str(batch), base))
        except OSError:
            return
        self._jobs = base + len(jobs)

    def claim(self, i: int) -> bool:
        """Take job ``i`` for this process unless the worker has."""
        if i >= len(self._claims) or _claim(self._claims, i):
            self._taken.add(i)
            return True
        return False

    def left_undone(self) -> list[int]:
        """Wait for the worker to be through with the drawing's batches; the jobs it took but
        did not draw (it died, or a figure failed there) are returned to be drawn here."""
        drawn: set[int] = set()
        handed = set(range(self._jobs))
        while not handed <= self._taken:  # else this process drew them all: no need to wait
            try:
                if not self._conn.poll(0.05):
                    if not self.process.is_alive():
                        break
                    continue
                n, kind, value = self._conn.recv()
            except (EOFError, OSError):
                break
            if n == self._n and kind == "through":
                break
            if n >= self._first and kind == "drawn":  # not a message of an earlier drawing
                drawn.add(value)
        for batch in self._batches:
            batch.unlink(missing_ok=True)
        return sorted(handed - drawn - self._taken)

    def __exit__(self, *exc) -> None:
        """End the worker: it holds nothing to save, so it is stopped rather than waited for
        (a Python process with matplotlib loaded takes a while to tear down)."""
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self._conn.close()
        self.process.terminate()
        self.process.join()
        # the shared flags' semaphore is released now, not at Python's exit (which the command skips)
        self.process = self._claims = self._conn = None
