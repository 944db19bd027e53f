"""Columns of repeated labels (a group's name, a window's, the lead test's) as pandas makes them,
without a copy of the labels for every row where pandas keeps its strings in pyarrow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

PIECE = 1 << 16
"""Rows of one piece (about): a longer column is that piece again and again."""


def tiled(labels: Sequence[str], n: int):
    """``labels`` one after another, ``n`` times over (numpy's ``tile``), as the column pandas makes
    of them (its string type, whichever storage). Where the strings are pyarrow's, the column's
    chunks are one piece of about :data:`PIECE` rows referred to again and again (pyarrow's chunks
    share their buffers): the same values and type as one array of them all, in about 1 MB instead
    of every row's bytes. At 1,000,000 firm-events the CAR frame's window column and the influence
    table's group, window and test columns (3,000,000 rows each) had taken about 270 MB, every
    page of it new to the process (on a virtual machine the host backs each page when it is
    first written: 0.15 s for the window column, 0.45 s of the influence table's 1.2 s)."""
    labels = np.array(list(labels), dtype=object)
    dtype = pd.Series(list(labels[:1]) or [""]).dtype  # pandas' type of a column of strings
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and len(labels) and n:
        per = max(PIECE // len(labels), 1)  # the labels' rounds in a piece
        piece = pa.array(np.tile(labels, min(n, per)), pa.large_string())
        whole, rest = divmod(n, per)
        chunks = [piece] * whole + ([piece.slice(0, rest * len(labels))] if rest else [])
        return pd.array(pa.chunked_array(chunks, pa.large_string()), dtype=dtype)
    return pd.array(np.tile(labels, n), dtype=dtype)
