"""The results' tables in researchers' formats, beside the CSVs (off unless asked for):

- ``xlsx``: ``results/results.xlsx``, one sheet per table (openpyxl: ``pip install
  'eventstudy-workbench[export]'``);
- ``dta``: ``results/stata/<table>.dta``, one Stata file per table (``pandas.to_stata``, Stata
  14+ format: Unicode strings, long strings as strL), variable names made Stata names.
"""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import EventStudyError

STAMP = datetime(2000, 1, 1)  # the files' own dates: fixed, so that a rerun writes the same tables
STATA_STRING = 2045  # longer strings are written as strL


def write_exports(frames: dict[str, pd.DataFrame], out: Path, formats: tuple[str, ...]) -> None:
    """``frames`` (file name → table) in each of ``formats`` under ``out``."""
    if "xlsx" in formats:
        write_xlsx(frames, out / "results.xlsx")
    if "dta" in formats:
        folder = out / "stata"
        folder.mkdir(exist_ok=True)
        for name, frame in frames.items():
            write_dta(frame, folder / f"{Path(name).stem}.dta")


def write_xlsx(frames: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table, named after it (at most 31 characters, as Excel allows)."""
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise EventStudyError("--export xlsx needs openpyxl: pip install 'eventstudy-workbench[export]'") from None
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in frames.items():
            _plain(frame).to_excel(writer, sheet_name=Path(name).stem[:31], index=False)
        writer.book.properties.created = STAMP
    _fixed_dates(path)


def _fixed_dates(path: Path) -> None:
    """An xlsx is a zip whose entries carry the time they were written, and openpyxl stamps the
    workbook's "modified" when it saves: fix both, so that a rerun writes the same bytes."""
    with zipfile.ZipFile(path) as z:
        items = [(info, z.read(info.filename)) for info in z.infolist()]
    stamp = f"{STAMP:%Y-%m-%dT%H:%M:%SZ}".encode()
    items = [
        (
            info,
            re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            if info.filename.endswith("core.xml")
            else data,
        )
        for info, data in items
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            info.date_time = STAMP.timetuple()[:6]
            out.writestr(info, data)


STATA_RESERVED = frozenset(
    "aggregate array boolean break byte case catch class colvector complex const continue default delegate delete do "
    "double else eltypedef end enum explicit export external float for friend function global goto if in inline int "
    "local long NULL pragma protected quad rowvector short strL typedef typename using virtual with "
    "_all _b _coef _cons _n _N _pi _pred _rc _se _skip".split()
)
"""Names Stata keeps for itself or for future use (its manual's [U] 11.3, and str1 … str2045)."""


def stata_names(columns) -> list[str]:
    """Column names as Stata variable names: letters, digits and _, at most 32 characters, not
    starting with a digit, none of Stata's reserved names (:data:`STATA_RESERVED`: ``short``, a
    BHAR's flag, becomes ``short_``), distinct."""
    out: list[str] = []
    for c in columns:
        name = re.sub(r"\W", "_", str(c).replace("-", "_"))[:32] or "v"
        if name[0].isdigit():
            name = f"_{name}"[:32]
        if name in STATA_RESERVED or re.fullmatch(r"str\d+", name):
            name = f"{name}_"
        base, k = name, 1
        while name in out:
            k += 1
            name = f"{base[: 32 - len(str(k)) - 1]}_{k}"
        out.append(name)
    return out


def write_dta(frame: pd.DataFrame, path: Path) -> None:
    """One table as a Stata file: text columns as strings (missing as ""), flags as 0/1; a column
    whose name Stata would not take carries it as its variable label."""
    data = _plain(frame)
    names = stata_names(data.columns)
    labels = {new: str(old)[:80] for new, old in zip(names, data.columns, strict=True) if new != str(old)}
    data.columns = names
    for c in data.columns:
        col = data[c]
        if pd.api.types.is_bool_dtype(col):
            data[c] = col.astype("int8")
        elif not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            data[c] = col.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    long = [c for c in data.columns if data[c].dtype == object and data[c].str.len().max() > STATA_STRING]
    data.to_stata(path, write_index=False, version=118, time_stamp=STAMP, convert_strl=long, variable_labels=labels)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with plain numpy columns (string and nullable types as objects, no infinities)."""
    out = frame.replace([np.inf, -np.inf], np.nan).copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.StringDtype) or out[c].dtype == "str":
            out[c] = out[c].astype(object)
    return out
