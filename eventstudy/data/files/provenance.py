"""What a data file was when a study read it: path, size, rows and sha256 (the placebo's
fingerprint and the report's provenance carry them, so changed data is seen)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from .table import rows_in


def file_facts(role: str, path: Path) -> dict:
    st = path.stat()
    rows, digest = _facts(path.resolve(), st.st_size, st.st_mtime_ns)
    return {"role": role, "file": path.name, "path": str(path), "bytes": st.st_size, "rows": rows, "sha256": digest}


@functools.cache
def _facts(path: Path, size: int, mtime_ns: int) -> tuple[int, str]:
    """Rows and sha256 of a file, computed once per (path, size, modification time)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return rows_in(path), h.hexdigest()
