"""A run's outputs — REPORT.md, REPORT.html, results/ and the figures — written as one set that
owns exactly the files it writes, and nothing else.

A manifest beside the report (:data:`MANIFEST`) lists the files earlier runs of this output set
wrote. A run stages every new file in a hidden folder (:data:`STAGING`) beside its target, then
commits: a journal lists the moves and the files of the old set that the new one no longer has,
each move is one ``os.replace`` of one file, the old set's leftovers are removed and the manifest
rewritten. A file the set does not own is never moved, replaced or removed: a run that would
overwrite one stops (before the analysis, and again before the commit) naming it. A run killed
before the journal leaves the old set untouched, and its staging is swept by the next run; killed
after it, the next run finishes the journal (roll forward). One run at a time writes an output
set: a second one waits while the first holds its folder's lock (only while it writes).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.tables import count_of
from ..errors import EventStudyError, first_few

MANIFEST = ".eventstudy-outputs.json"
JOURNAL = ".eventstudy-commit.json"
STAGING = ".eventstudy-staging-"
_HELD: dict[Path, tuple[int, int]] = {}  # folder → (its locked descriptor, how many claims hold it)


class OutputError(EventStudyError):
    """The outputs cannot be written where they should go."""


def check_writable(folder: Path, what: str) -> None:
    """``folder`` is, or can be made, a folder we can write in: refuse a file in the way and a
    folder that refuses a file (tried for real, as permission bits do not tell the whole story)."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(
            f"{what} {folder} is a file, not a folder"
            if probe == folder
            else f"{what} {folder} cannot be made: {probe} is a file"
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=".eventstudy-probe-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputError(
            f"{what} {folder} is not writable ({exc.strerror or exc}); choose another with --out"
        ) from None


@dataclass(frozen=True)
class Staged:
    """Where a run writes its new files: ``root`` stands for the output folder (REPORT.md,
    results/), ``figures`` for the figure folder."""

    root: Path
    figures: Path


@dataclass(frozen=True)
class OutputSet:
    """The outputs of a study under ``out`` (REPORT.md, REPORT.html, results/) and ``figures``."""

    out: Path
    figures: Path

    def rel(self, path: Path) -> str:
        """A file's name in the manifest: its path from the output folder, with / separators."""
        return os.path.relpath(path, self.out).replace(os.sep, "/")

    def holds(self, path: Path) -> bool:
        """Whether ``path`` lies under the output or the figure folder (a manifest naming any
        other file is not trusted with it)."""
        where = path.parent.resolve()
        return any(where == f or f in where.parents for f in (self.out.resolve(), self.figures.resolve()))

    def owned(self) -> set[str]:
        """The files the manifest says earlier runs of this set wrote."""
        try:
            files = json.loads((self.out / MANIFEST).read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return set()
        return {f for f in files if isinstance(f, str) and self.holds(self.out / f)}

    def conflicts(self, candidates: Iterable[Path]) -> list[Path]:
        """The ``candidates`` that exist and that this set does not own (a user's files)."""
        owned = self.owned()
        return sorted(p for p in candidates if (p.exists() or p.is_symlink()) and self.rel(p) not in owned)

    def refuse(self, candidates: Iterable[Path]) -> None:
        """Stop, naming them, when a run would overwrite files this set does not own."""
        taken = self.conflicts(candidates)
        if not taken:
            return
        files = count_of(len(taken), "file")
        record = self.out / MANIFEST
        if record.exists():
            raise OutputError(
                f"the outputs would overwrite {files} eventstudy did not write: {first_few(taken, 5)}. "
                "Move them away, or write elsewhere with --out; nothing was changed"
            )
        raise OutputError(  # a study folder removed and made again leaves its figures without their record
            f"the outputs would overwrite {files} that no record of an earlier run claims ({record} is missing): "
            f"{first_few(taken, 5)}. If they are the outputs of a run whose folder was removed, delete them; "
            "else move them away, or write elsewhere with --out; nothing was changed"
        )

    @contextlib.contextmanager
    def claim(self) -> Iterator[None]:
        """Hold this output set (its folder's lock) for a run: finish a commit a killed run left
        half done, sweep the staging of runs killed before their commit; refuse a second run
        writing the same set at the same time."""
        self.out.mkdir(parents=True, exist_ok=True)
        key = self.out.resolve()
        fd, count = _HELD.get(key, (-1, 0))
        if not count:
            fd = _lock(key)
        _HELD[key] = (fd, count + 1)
        try:
            if not count:
                self.recover()
            yield
        finally:
            fd, count = _HELD.pop(key)
            if count > 1:
                _HELD[key] = (fd, count - 1)
            else:
                os.close(fd)

    def recover(self) -> None:
        if (self.out / JOURNAL).is_file():
            self._apply(json.loads((self.out / JOURNAL).read_text()))
        for folder in (self.out, self.figures):
            for leftover in folder.glob(f"{STAGING}*") if folder.is_dir() else ():
                _remove(leftover)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Staged]:
        """Yield hidden folders to write the new files into; on a clean exit commit them (the
        set's files replaced, its leftovers removed, the user's files untouched), on an
        exception discard them."""
        with self.claim():
            token = uuid.uuid4().hex[:12]
            staged = Staged(self.out / f"{STAGING}{token}", self.figures / f"{STAGING}{token}")
            try:
                staged.root.mkdir(parents=True)
                staged.figures.mkdir(parents=True, exist_ok=True)
                yield staged
                self._commit(staged, token)
            except BaseException as exc:
                if not self._journal_of(token):  # before the commit: the old set stands, as it was
                    _remove(staged.root)
                    _remove(staged.figures)
                if isinstance(exc, OSError) and not exc.filename:  # a full disk deep in a writer: say where
                    raise OSError(exc.errno, exc.strerror or str(exc), str(self.out)) from exc
                raise  # during it: the staged files stay for the next run to finish the journal
            _remove(staged.root)
            _remove(staged.figures)

    def _journal_of(self, token: str) -> bool:
        try:
            return json.loads((self.out / JOURNAL).read_text()).get("token") == token
        except (OSError, ValueError, AttributeError):
            return False

    def _commit(self, staged: Staged, token: str) -> None:
        moves = [(p, self.out / p.relative_to(staged.root)) for p in _files(staged.root)]
        moves += [(p, self.figures / p.relative_to(staged.figures)) for p in _files(staged.figures)]
        targets = [dst for _, dst in moves]
        self.refuse(targets)  # a file of the user's appeared while the analysis ran
        new = sorted(self.rel(t) for t in targets)
        gone = sorted(self.owned() - set(new))
        journal = {"token": token, "moves": [[str(s), str(d)] for s, d in moves], "delete": gone, "files": new}
        tmp = self.out / f"{JOURNAL}.{token}.tmp"
        tmp.write_text(json.dumps(journal))
        os.replace(tmp, self.out / JOURNAL)
        self._apply(journal)

    def _apply(self, journal: dict) -> None:
        """Make the journal's moves (each only if its staged file is still there), remove the
        old set's leftovers (files it owned, only), write the manifest, drop the journal. Safe
        to repeat after a crash at any point."""
        for src, dst in map(lambda m: (Path(m[0]), Path(m[1])), journal["moves"]):
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                if dst.is_dir() and not dst.is_symlink():
                    raise OutputError(f"{dst} is a folder where the outputs write a file; nothing was replaced there")
                os.replace(src, dst)
        for rel in journal["delete"]:
            stale = self.out / rel
            if (stale.is_file() or stale.is_symlink()) and self.holds(stale):
                stale.unlink()
                _prune(stale.parent, self.out)
        from ..data.store import write_atomic

        text = json.dumps({"files": journal["files"]}, indent=1) + "\n"
        write_atomic(self.out / MANIFEST, lambda tmp: tmp.write_text(text))
        (self.out / JOURNAL).unlink(missing_ok=True)


LOCK_WAIT = 600.0  # seconds a run waits for another one writing the same outputs


def _lock(folder: Path, wait: float | None = None) -> int:
    """An exclusive lock on ``folder`` (its descriptor): a run writing the same outputs is waited
    for (it holds the lock only while it writes its files), up to ``wait`` seconds."""
    import time

    fd = os.open(folder, os.O_RDONLY)
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): one run at a time is then the user's to keep
        return fd
    until = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() >= until:
                os.close(fd)
                raise OutputError(
                    f"another eventstudy run has been writing to {folder} for over {LOCK_WAIT:.0f} s: wait for it "
                    "to finish, or write elsewhere with --out; nothing was changed"
                ) from None
            time.sleep(0.1)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _prune(folder: Path, top: Path) -> None:
    """Remove ``folder`` and its parents up to ``top`` while they are empty (a results/stata/
    the new set no longer has)."""
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
