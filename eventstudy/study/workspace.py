"""Where studies are found and where a run writes.

A study is a folder with a ``study.toml`` (and the files it names, such as an events file).
``eventstudy run NAME`` looks in ``./analyses/NAME/`` under the current folder first, then
among the studies shipped inside the package (``eventstudy.studies``: in a source checkout
the repository's ``analyses/``). A shipped study is run from a copy in ``./analyses/NAME/``,
so that its outputs, and the definition they were made from, land under the current folder
and never in the installed package. A report in ``X/analyses/NAME/`` keeps its figures in
``X/figures/NAME/`` (the layout of a project, and of this repository); any other report keeps
them beside itself in ``figures/``.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ..errors import EventStudyError, StudyFileError, first_few
from .template import NewStudyText, new_study_text

STUDY_FILE = "study.toml"
PROJECT_FOLDER = "analyses"
FIGURE_FOLDER = "figures"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # a study's name: a folder, never a path such as ../..


def shipped_root() -> Path:
    """The folder of the studies that travel with the package."""
    return Path(str(files("eventstudy.studies")))


def local_root() -> Path:
    return Path.cwd() / PROJECT_FOLDER


@dataclass(frozen=True)
class StudyEntry:
    name: str
    path: Path  # its study.toml
    shipped: bool  # found among the package's studies, not under ./analyses/


def list_studies() -> list[StudyEntry]:
    """The studies under ./analyses/, then the shipped ones that no local study of the same
    name hides."""
    local = {p.parent.name: p for p in sorted(local_root().glob(f"*/{STUDY_FILE}"))}
    shipped = {p.parent.name: p for p in sorted(shipped_root().glob(f"*/{STUDY_FILE}"))}
    same = {n for n in local if local[n].resolve() == shipped.get(n, Path()).resolve()}
    return [StudyEntry(n, p, n in same) for n, p in local.items()] + [
        StudyEntry(n, p, True) for n, p in shipped.items() if n not in local
    ]


def is_shipped(path: Path) -> bool:
    """Whether a study file is one of the package's own (in an installed package: a file that
    must not be written beside)."""
    return Path(path).resolve().parent.parent == shipped_root().resolve()


def find_study(name_or_path: str | Path) -> Path:
    """A study file from a path (to the file or its folder) or a name (./analyses/NAME/, then
    the shipped studies)."""
    if not str(name_or_path).strip():
        raise StudyFileError("''", "name", "no study named: give a study's name, folder or study.toml")
    path = Path(name_or_path)
    if path.is_dir():
        if not (path / STUDY_FILE).is_file():
            why = f"this folder holds no {STUDY_FILE}: give a study's folder, its {STUDY_FILE} or its name"
            raise StudyFileError(path, "(file)", why)
        path = path / STUDY_FILE
    if path.is_file():
        return path.resolve()
    if len(path.parts) > 1:  # a path, not a name
        raise StudyFileError(path, "(file)", "no such file or folder")
    for root in (local_root(), shipped_root()):
        candidate = root / str(name_or_path) / STUDY_FILE
        if candidate.is_file():
            return candidate.resolve()
    known = ", ".join(e.name for e in list_studies()) or "none"
    where = f"no such study in ./{PROJECT_FOLDER}/ or the shipped ones"
    raise StudyFileError(name_or_path, "name", f"{where} (known: {known}; or give a path)")


class InitError(EventStudyError):
    """``init`` cannot write the new study where asked (a usage error of the command)."""


@dataclass(frozen=True)
class Copied:
    """What :func:`init_study` did: the new study file, the files written and those kept, and
    what of the template's own event its study file left out (and could not)."""

    path: Path
    written: tuple[str, ...]
    kept: tuple[str, ...]
    left_out: tuple[str, ...] = ()
    not_left_out: tuple[str, ...] = ()


def init_study(
    name: str,
    template: str | Path = "deepseek-2025",
    with_claims: bool = False,
    force: bool = False,
    event_date: datetime.date | None = None,
) -> Copied:
    """Write a new study folder ./analyses/NAME from a template's definition: its study.toml with
    ``[study] name`` set to NAME, its events file and the scripts beside it — never its outputs,
    never a folder. What the study file says of the template's own event (its title, label,
    description, claims, the report's notes and marks: :mod:`.template`) is left out unless
    ``with_claims`` (a variant of the same event), the title set to NAME, and ``[study]
    event_date`` to ``event_date`` when given (not for a sample). A target folder that
    holds anything is refused, naming what is there; ``force`` writes only the files that are
    absent and keeps (lists) the rest."""
    if not NAME.fullmatch(name):
        raise InitError(f"the study name {name!r} must be lower case letters, digits, '.', '_' or '-' (at most 64)")
    try:
        source = find_study(template)
    except StudyFileError as exc:
        raise InitError(f"--from {template}: {exc}") from None
    target = local_root() / name
    if target.resolve() == source.parent.resolve() or source.parent.resolve() in target.resolve().parents:
        raise InitError(
            f"the template's folder {shown(source.parent)} holds the new study's folder {shown(target)}: a study "
            "cannot be copied into itself; run init from another folder, or name another template"
        )
    try:
        made = new_study_text(source.read_text(encoding="utf-8-sig"), name, source.parent.name, with_claims, event_date)
    except tomllib.TOMLDecodeError as exc:
        raise InitError(f"--from {template}: {shown(source)} is not valid TOML ({exc}): correct it first") from None
    except ValueError as exc:
        raise InitError(f"--date {event_date}: {exc}; nothing was written") from None
    if tomllib.loads(made.text).get("study", {}).get("name", name) != name:
        raise EventStudyError(f"could not set [study] name in the copy of {source}: set it by hand")
    return _copy_definition(source, target, made, force)


# the [data] keys that name files (data.files.spec.FILE_KEYS; not imported: finding and copying
# studies stays free of the data layer's imports, pandas and pyarrow)
FILE_KEYS = ("returns", "market", "delisting", "names", "factors")


def definition_files(study_file: Path) -> list[Path]:
    """A study's definition: its study file, the events file and the data files (``[data]``) it
    names when they lie beside it, and the scripts beside it (``*.py``: e.g. the one that writes
    the events file)."""
    folder = study_file.parent
    files = [study_file, *sorted(folder.glob("*.py"))]
    try:
        table = tomllib.loads(study_file.read_text())
    except (OSError, ValueError):
        table = {}
    data = table.get("data", {}) if isinstance(table.get("data"), dict) else {}
    named = [table.get("events", {}).get("file") if isinstance(table.get("events"), dict) else None]
    for key in FILE_KEYS:  # a name, or a list of them (factors)
        value = data.get(key)
        named += value if isinstance(value, list) else [value]
    for name in named:
        if isinstance(name, str) and (folder / name).resolve().parent == folder.resolve() and (folder / name).is_file():
            files.insert(1, folder / name)
    return [f for f in dict.fromkeys(files) if f.is_file() and f.name != "__init__.py"]


def _copy_definition(source: Path, target: Path, made: NewStudyText, force: bool = False) -> Copied:
    """Copy a study's definition files into ``target``, its study file as ``made``'s text named
    study.toml (what ``run NAME`` finds, whatever the template's file was called): into an empty
    or new folder, or with ``force`` only the files that are absent there."""
    if target.exists() and not target.is_dir():
        raise InitError(f"{shown(target)} is a file, not a folder: choose another name")
    there = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
    if there and not force:
        raise InitError(
            f"{shown(target)} already holds {first_few(there, 6)}: nothing was written. Choose another name, or "
            "--force to write only the files that are absent"
        )
    target.mkdir(parents=True, exist_ok=True)
    from ..data.store import write_atomic

    written, kept = [], []
    for item in definition_files(source):
        dest = target / (STUDY_FILE if item == source else item.name)
        if dest.exists() or dest.is_symlink():
            kept.append(dest.name)
            continue
        content = made.text.encode() if item == source else item.read_bytes()
        write_atomic(dest, lambda tmp, c=content: tmp.write_bytes(c))  # each whole or not at all
        written.append(dest.name)
    said = (made.left_out, made.not_left_out) if STUDY_FILE in written else ()
    return Copied(target / STUDY_FILE, tuple(written), tuple(kept), *said)


def default_out(path: Path) -> Path:
    """Where a run of the study file ``path`` writes unless told: its own folder, or for a
    shipped study ./analyses/NAME under the current folder."""
    path = Path(path)
    return local_root() / path.parent.name if is_shipped(path) else path.parent


def working_copy(path: Path) -> Path:
    """The study file a run writes beside: a shipped study's copy in ./analyses/NAME/ (made
    on first use, so that the report names the definition it was made from), any other study
    file itself."""
    path = Path(path)
    target = default_out(path) / STUDY_FILE
    if target.resolve() == path.resolve():
        return path
    if target.is_file():
        if target.read_bytes() != path.read_bytes():
            raise EventStudyError(
                f"{target} differs from the shipped study {path.parent.name}: run it by its path, or write elsewhere"
                " with --out"
            )
        return target
    try:
        return _copy_definition(path, target.parent, NewStudyText(path.read_text(), ())).path
    except InitError:
        raise EventStudyError(
            f"the shipped study {path.parent.name} runs from a copy in {shown(target.parent)}, which holds other files "
            "and no study.toml: nothing was written; move them, or run the study by its path with --out elsewhere"
        ) from None


def figure_folder(out: Path) -> Path:
    """Where the figures of a report written to ``out`` go: ``X/figures/NAME`` for
    ``out = X/analyses/NAME``, else ``out/figures``."""
    out = Path(out)
    if out.parent.name == PROJECT_FOLDER:
        return out.parent.parent / FIGURE_FOLDER / out.name
    return out / FIGURE_FOLDER


def shown(path: Path) -> str:
    """A path as a user would type it: relative to the current folder when inside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()
