"""Parquet panels of returns: the dask engine reads them file by file on its workers.

A panel is a folder of ``part-NNNNN.parquet`` files, each a frame of the same sessions (index
``date``) × some tickers, every ticker in exactly one file, and a manifest (:data:`MANIFEST`)
listing each file with its tickers, rows and sha256. :func:`write_panel` is a transaction, as the
snapshot's rebuild is: the new panel is written and verified in a hidden folder beside the old
one and swapped in only when whole (a write killed half way leaves the old panel as it was); a
folder holding anything but an eventstudy panel is refused, never emptied. :meth:`ParquetPanel.open`
checks the manifest against the files, so a panel cut short is refused, not read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

PART = "part-{:05d}.parquet"
MANIFEST = "panel.json"
_STAGING, _OLD = ".eventstudy-staging-", ".eventstudy-old-"


class PanelError(DataError):
    """A panel folder that cannot be read or written as a panel."""


@dataclass(frozen=True)
class ParquetPanel:
    """A parquet panel of returns (see the module's docstring): its sessions, and each file's
    tickers, from its manifest (no returns are read here)."""

    path: Path
    index: pd.DatetimeIndex
    files: tuple[tuple[Path, tuple[str, ...]], ...]

    @classmethod
    def open(cls, path: str | os.PathLike) -> ParquetPanel:
        """The panel in ``path``, its files checked against its manifest (present, the rows and
        tickers it lists)."""
        import pyarrow.parquet as pq

        path = Path(path)
        _restore(path)
        try:
            record = json.loads((path / MANIFEST).read_text())
            listed = [(path / f["name"], tuple(f["tickers"]), int(f["rows"])) for f in record["files"]]
        except FileNotFoundError:
            raise PanelError(
                f"{path} is not an eventstudy panel (it has no {MANIFEST}): write one with `eventstudy panel` "
                "or eventstudy.data.panel.write_panel"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PanelError(f"{path / MANIFEST} cannot be read ({exc}): write the panel again") from None
        seen: dict[str, Path] = {}
        for file, names, rows in listed:
            if not file.is_file():
                raise PanelError(f"{path} is incomplete: {file.name} is missing; write the panel again")
            meta = pq.read_metadata(file)
            if meta.num_rows != rows:
                raise PanelError(f"{file} holds {meta.num_rows} rows, its manifest says {rows}: write the panel again")
            for n in names:
                if n in seen:
                    raise PanelError(f"ticker {n!r} is in both {seen[n].name} and {file.name}: a panel holds it once")
                seen[n] = file
        if not listed:
            raise PanelError(f"{path} holds no returns: its manifest lists no file")
        index = pd.DatetimeIndex(pd.read_parquet(listed[0][0], columns=[]).index, name="date")
        return cls(path, index, tuple((f, names) for f, names, _ in listed))

    @property
    def columns(self) -> pd.Index:
        return pd.Index([t for _, names in self.files for t in names])

    def read(self, file: str | os.PathLike) -> np.ndarray:
        """One of its files as sessions × tickers (the Dask engine calls this on its workers)."""
        return read_part(str(file), self.index)


def write_panel(returns: pd.DataFrame, path: str | os.PathLike, tickers_per_file: int = 500) -> ParquetPanel:
    """Write ``returns`` (sessions × tickers, decimals, NaN = missing) as a parquet panel in the
    folder ``path``, about ``tickers_per_file`` tickers to a file, as one transaction: built and
    verified beside ``path``, then swapped in. ``path`` must be new, empty or a panel this
    function wrote (which is then replaced whole)."""
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("write_panel takes a DataFrame of returns indexed by session date (sessions × tickers)")
    if not isinstance(tickers_per_file, int) or tickers_per_file < 1:
        raise ValueError(f"tickers per file must be a positive number, got {tickers_per_file!r}")
    if returns.columns.duplicated().any():
        raise ValueError(f"tickers repeat: {list(returns.columns[returns.columns.duplicated()][:5])}")
    if returns.shape[1] == 0:
        raise PanelError(f"no ticker has returns: nothing was written to {path}")
    if returns.index.duplicated().any():
        raise ValueError(f"dates repeat: {list(returns.index[returns.index.duplicated()][:3].strftime('%Y-%m-%d'))}")
    path = Path(path)
    _restore(path)
    _refuse_foreign(path)
    token = uuid.uuid4().hex[:12]
    staging = path.parent / f"{_STAGING}{path.name}-{token}"
    for stale in path.parent.glob(f"{_STAGING}{path.name}-*"):  # a write killed before its swap
        shutil.rmtree(stale, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        _write_parts(returns, staging, tickers_per_file)
        ParquetPanel.open(staging)  # verified whole before it replaces anything
        _swap(staging, path, token)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ParquetPanel.open(path)


def _write_parts(returns: pd.DataFrame, folder: Path, per_file: int) -> None:
    frame = returns.astype("float64").rename_axis("date").sort_index()
    frame.columns = frame.columns.astype(str)
    files = []
    for i, lo in enumerate(range(0, frame.shape[1], per_file)):
        part = frame.iloc[:, lo : lo + per_file]
        name = PART.format(i)
        part.to_parquet(folder / name)
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        files.append({"name": name, "tickers": list(part.columns), "rows": len(part), "sha256": digest})
    record = {"sessions": len(frame), "tickers": frame.shape[1], "files": files}
    (folder / MANIFEST).write_text(json.dumps(record, indent=1) + "\n")


def _refuse_foreign(path: Path) -> None:
    """``path`` must be new, empty, or a panel of ours (its manifest and part files only)."""
    if path.exists() and not path.is_dir():
        raise PanelError(f"{path} is a file, not a folder: choose another place for the panel")
    if not path.is_dir():
        return
    there = sorted(p.name for p in path.iterdir())
    if not there:
        return
    ours = {MANIFEST}
    try:
        ours |= {f["name"] for f in json.loads((path / MANIFEST).read_text())["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        ours = set()
    foreign = [n for n in there if n not in ours]
    if foreign or not ours:
        shown = ", ".join(foreign[:5] or there[:5])
        raise PanelError(
            f"{path} holds files that are not an eventstudy panel ({shown}): nothing was changed; write the panel "
            "to a new or empty folder"
        )


def _swap(staging: Path, path: Path, token: str) -> None:
    """Put ``staging`` where ``path`` is: the old panel aside, the new one in, the old one removed
    (killed between the two renames, the next open or write puts the old one back)."""
    old = path.parent / f"{_OLD}{path.name}-{token}"
    if path.exists():
        os.replace(path, old)
    os.replace(staging, path)
    shutil.rmtree(old, ignore_errors=True)


def _restore(path: Path) -> None:
    """A panel set aside by a write killed between its two renames goes back in place."""
    if path.exists():
        for old in path.parent.glob(f"{_OLD}{path.name}-*"):
            shutil.rmtree(old, ignore_errors=True)
        return
    aside = sorted(path.parent.glob(f"{_OLD}{path.name}-*")) if path.parent.is_dir() else []
    if aside:
        os.replace(aside[-1], path)


def read_part(file: str, index: pd.DatetimeIndex):
    """One file of a parquet panel as sessions × tickers (a numpy array); its sessions must be
    the panel's."""
    frame = pd.read_parquet(file)
    if not pd.DatetimeIndex(frame.index).equals(index):
        raise ValueError(f"{file}: its sessions differ from the panel's first file (write_panel keeps them equal)")
    return frame.to_numpy(dtype="float64")


def read_returns_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Returns from a CSV: wide (a ``date`` column, then one column per ticker) or long
    (``date, ticker, ret``), as sessions × tickers. A date that repeats is refused either way."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
        raise PanelError(f"{path} cannot be read as a CSV of returns ({str(exc).strip()})") from None
    if "date" not in frame.columns:
        raise PanelError(f"{path}: a returns CSV needs a 'date' column; got {list(frame.columns)[:6]}")
    try:
        frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise PanelError(f"{path}: column 'date' holds a value that is not a YYYY-MM-DD date ({exc})") from None
    if {"ticker", "ret"} <= set(frame.columns):
        if frame.duplicated(["date", "ticker"]).any():
            raise PanelError(f"{path}: a (date, ticker) pair appears twice")
        frame = frame.pivot(index="date", columns="ticker", values="ret")
    else:
        repeated = frame.date[frame.date.duplicated()]
        if len(repeated):
            raise PanelError(f"{path}: a date appears twice ({repeated.iloc[0]:%Y-%m-%d}); each session once")
        frame = frame.set_index("date")
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise PanelError(f"{path}: the returns of {text[:5]} are not numbers (returns are decimals, NaN = missing)")
    return frame.sort_index().astype("float64")
