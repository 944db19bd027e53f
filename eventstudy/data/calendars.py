"""The exchanges' sessions kept in the cache folder for a day (:class:`SessionFiles`, a
:class:`~eventstudy.core.calendar.SessionStore`): ``calendars/<code>.npz``, the sessions with the
code and the stamp they were made under (the version of ``exchange_calendars`` and the day). A
file that cannot be read, or holds another code or stamp, is built again and replaced; one that
cannot be written leaves the sessions built in each process, as without a store."""

from __future__ import annotations

import contextlib
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .cache import default_cache_dir
from .store import write_atomic


class SessionFiles:
    """Sessions kept under ``root/calendars/`` (default: the cache folder, as it is when asked)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def _path(self, code: str) -> Path:
        root = Path(self.root) if self.root is not None else default_cache_dir()
        return root / "calendars" / f"{re.sub(r'[^A-Za-z0-9_-]', '_', code)}.npz"

    def load(self, code: str, stamp: str) -> pd.DatetimeIndex | None:
        try:
            with np.load(self._path(code), allow_pickle=False) as kept:
                if str(kept["code"]) != code or str(kept["stamp"]) != stamp:
                    return None
                days = kept["days"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None
        if days.dtype != np.dtype("datetime64[D]") or days.ndim != 1 or len(days) < 2 or (np.diff(days) <= 0).any():
            return None  # not sessions in order: built again
        return pd.DatetimeIndex(days.astype("datetime64[ns]"))

    def save(self, code: str, stamp: str, days: pd.DatetimeIndex) -> None:
        def write(tmp: Path) -> None:
            with tmp.open("wb") as f:
                np.savez(f, code=np.str_(code), stamp=np.str_(stamp), days=days.to_numpy().astype("datetime64[D]"))

        with contextlib.suppress(OSError):  # a read-only cache folder: the next process builds them again
            write_atomic(self._path(code), write)
