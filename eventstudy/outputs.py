"""A run's outputs (report, results, figures) written as one set: all of the new set or all of
the old one, never a mix.

Each item is written whole into a staging path beside its target; then a journal listing the
moves is written (atomically) and the moves are made: old item aside, new item in, old item
removed. A run killed before the journal leaves the old set untouched (its staging is swept by
the next run); killed after it, the next run finishes the moves from the journal (roll
forward: the staged items are complete). Where the targets are is checked before any work
(:func:`check_writable`), so a bad ``--out`` fails in a second, not after the analysis.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .errors import EventStudyError

JOURNAL = ".eventstudy-commit.json"
_STAGING = ".staging-"
_OLD = ".old-"
# a staging folder older than this belongs to a killed run (writing a set takes seconds)
STALE_SECONDS = 600


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


def _staging(target: Path, token: str) -> Path:
    return target.with_name(f".{target.name}{_STAGING}{token}")


@contextmanager
def output_set(targets: Mapping[str, Path], journal: Path) -> Iterator[dict[str, Path]]:
    """Yield a staging path per target (a file or a folder, for the caller to create); on a
    clean exit swap every staged item in, on an exception discard them. A journal left by a
    killed run is finished first."""
    recover(journal, targets.values())
    token = uuid.uuid4().hex[:12]
    staged = {name: _staging(t, token) for name, t in targets.items()}
    for path in staged.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield staged
    except BaseException:
        for path in staged.values():
            _remove(path)
        raise
    moves = [(str(staged[n]), str(t)) for n, t in targets.items() if staged[n].exists()]
    tmp = journal.with_name(f"{journal.name}.{token}.tmp")
    tmp.write_text(json.dumps({"token": token, "moves": moves}))
    os.replace(tmp, journal)
    _apply(journal)


def recover(journal: Path, targets) -> None:
    """Finish a commit a killed run left half done (its journal exists); remove the staging and
    set-aside copies of runs killed before their commit (older than :data:`STALE_SECONDS`: a
    run writing now, beside this one, is left alone)."""
    if journal.is_file():
        _apply(journal)
    cutoff = time.time() - STALE_SECONDS
    for target in map(Path, targets):
        if not target.parent.is_dir():
            continue
        for pattern in (f".{target.name}{_STAGING}*", f"{target.name}{_OLD}*"):
            for leftover in target.parent.glob(pattern):
                if leftover.lstat().st_mtime < cutoff:
                    _remove(leftover)


def _apply(journal: Path) -> None:
    """Make the journal's moves (each one only if its staged item is still there), then remove
    the old items and the journal. Safe to repeat after a crash at any point."""
    record = json.loads(journal.read_text())
    olds = []
    for src, dst in map(lambda m: (Path(m[0]), Path(m[1])), record["moves"]):
        if not src.exists():
            continue
        if dst.exists():
            old = dst.with_name(f"{dst.name}{_OLD}{record['token']}")
            os.replace(dst, old)
            olds.append(old)
        os.replace(src, dst)
    for old in olds:
        _remove(old)
    journal.unlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
