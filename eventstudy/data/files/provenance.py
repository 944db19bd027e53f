"""What a data file was when a study read it: path, size, rows and sha256 (the placebo's
fingerprint and the report's provenance carry them, so changed data is seen)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from .table import is_parquet


def file_facts(role: str, path: Path) -> dict:
    st = path.stat()
    rows, digest = _facts(path.resolve(), st.st_size, st.st_mtime_ns)
    return {"role": role, "file": path.name, "path": str(path), "bytes": st.st_size, "rows": rows, "sha256": digest}


@functools.cache
def _facts(path: Path, size: int, mtime_ns: int) -> tuple[int, str]:
    """Rows and sha256 of a file, in one reading, once per (path, size, modification time):
    a parquet file's rows from its metadata, a CSV's lines after the header (a last line without
    a line break counted too)."""
    h, lines, last = hashlib.sha256(), 0, b""
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    if is_parquet(path):
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows, h.hexdigest()
    return max(lines - 1 + (last not in (b"\n", b"")), 0), h.hexdigest()
