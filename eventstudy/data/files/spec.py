"""What a study's ``[data]`` table names: the user's files and how to read them, and the column
layouts eventstudy knows (CRSP's legacy daily stock file, CRSP's 2024 CIZ format, columns named
in the table, or a wide file: a date column and one column of returns per security)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...errors import DataFileError

ROLES = ("id", "date", "ret", "price", "volume", "shares", "open", "high", "low")
REQUIRED = ("id", "date", "ret")
UNITS = ("decimal", "percent")
SHAPES = ("long", "wide")  # [data] layout: a row per security and session, or a column per security
FILE_KEYS = ("returns", "market", "delisting", "names", "factors")  # the [data] keys that name files

# CRSP's names as WRDS writes them (matched case-insensitively); shares in thousands
CRSP_LEGACY = {
    "id": "permno",
    "date": "date",
    "ret": "ret",
    "price": "prc",
    "volume": "vol",
    "shares": "shrout",
    "open": "openprc",
    "high": "askhi",
    "low": "bidlo",
}
CRSP_CIZ = {
    "id": "permno",
    "date": "dlycaldt",
    "ret": "dlyret",
    "price": "dlyprc",
    "volume": "dlyvol",
    "shares": "shrout",
    "open": "dlyopen",
    "high": "dlyhigh",
    "low": "dlylow",
}
LAYOUTS = {"CRSP daily stock file (CIZ, 2024)": CRSP_CIZ, "CRSP daily stock file (legacy dsf)": CRSP_LEGACY}
CRSP_SHARES_SCALE = 1000.0  # SHROUT and ShrOut count thousands of shares

# performance-related delistings (CRSP delisting codes): Shumway (1997)
PERFORMANCE_CODES = frozenset({500, *range(520, 585)})
SHUMWAY_RETURN = -0.30


@dataclass(frozen=True)
class DataSpec:
    """``[data]`` of a study file, paths resolved against the study's folder.

    ``returns``: the long file of security returns (CSV or parquet); ``market``: dates and
    market series; ``delisting``: CRSP's delisting file (legacy layout only: CIZ's DlyRet
    already includes the delisting return); ``factors``: Ken French's files as downloaded (or
    tidy ones); ``names``: identifier → ticker with date ranges; ``calendar``: an
    ``exchange_calendars`` code or ``"data"`` (the market file's dates); ``units`` of the
    returns and market series; ``columns``: role → column for files in no known layout;
    ``shares_scale``: what one unit of the shares column counts (CRSP: 1000);
    ``performance_delisting_return``: the return put in for a performance delisting without
    DLRET (Shumway 1997: −0.30; ``None``: left missing and said); ``currency``: the ISO 4217 code
    of the prices (market values and their changes are in it); ``layout``: ``"long"`` (a row per
    security and session) or ``"wide"`` (a date column, then one column of returns per security,
    named by its identifier)."""

    returns: Path
    market: Path | None = None
    delisting: Path | None = None
    factors: tuple[Path, ...] = ()
    names: Path | None = None
    calendar: str = "XNYS"
    units: str = "decimal"
    columns: dict[str, str] = field(default_factory=dict)
    shares_scale: float | None = None
    performance_delisting_return: float | None = None
    date_format: str = ""
    currency: str = "USD"
    layout: str = "long"

    def files(self) -> dict[str, Path]:
        """Every file the table names, by role (``factors``, ``factors 2``, ... for several)."""
        out = {key: getattr(self, key) for key in FILE_KEYS if key != "factors"}
        out |= {("factors" if i == 0 else f"factors {i + 1}"): f for i, f in enumerate(self.factors)}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Layout:
    """The columns of a returns file by role (only those it has), what its layout is, and the
    scale of its shares column. A wide file has only its date column by role (``wide``): each
    other column holds one security's returns."""

    name: str
    columns: dict[str, str]
    shares_scale: float
    wide: bool = False

    def has(self, role: str) -> bool:
        return role in self.columns


WIDE = "one column of returns per security (wide)"


def resolve_layout(
    path: Path, header: list[str], mapping: dict[str, str], shares_scale: float | None, shape: str = "long"
) -> Layout:
    """The roles of ``header``'s columns: CRSP's CIZ or legacy names when the file has them,
    ``mapping`` (role → column, case-insensitive) over any of them; in a wide file (``shape``)
    the date column (``mapping``'s, else the first). An error names the file and the missing
    column."""
    lower = {str(c).lower(): str(c) for c in header}
    if shape == "wide":
        return _wide_layout(path, header, mapping)
    name, roles = "columns named in [data.columns]", {}
    for layout, names in LAYOUTS.items():
        if names["id"] in lower and names["ret"] in lower and names["date"] in lower:
            name, roles = layout, {r: lower[c] for r, c in names.items() if c in lower}
            break
    roles |= _mapped(path, header, mapping)
    missing = [r for r in REQUIRED if r not in roles]
    if missing:
        raise DataFileError(
            path,
            f"no {' / '.join(missing)} column: the file is in no layout eventstudy knows (CRSP's PERMNO, DATE, RET "
            f"or PERMNO, DlyCalDt, DlyRet); name its columns in [data.columns] (id, date, ret; optional price, "
            f"volume, shares). Columns: {', '.join(map(str, header[:20]))}"
            + (
                '. A file with a date column and one column of returns per security is wide: set [data] layout = "wide"'
                if {"id", "ret"} <= set(missing) and len(header) > 2
                else ""
            ),
        )
    crsp = name in LAYOUTS
    scale = shares_scale if shares_scale is not None else (CRSP_SHARES_SCALE if crsp else 1.0)
    return Layout(name, roles, scale)


def _mapped(path: Path, header: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """``mapping``'s roles with the header's own spelling of their columns (matched without regard
    to case); a column the header lacks is an error naming it."""
    lower = {str(c).lower(): str(c) for c in header}
    for role, column in mapping.items():
        if column.lower() not in lower:
            raise DataFileError(
                path, f"[data.columns] {role} = {column!r} is not a column (columns: {', '.join(header[:20])})"
            )
    return {role: lower[column.lower()] for role, column in mapping.items()}


def _wide_layout(path: Path, header: list[str], mapping: dict[str, str]) -> Layout:
    """A wide file's layout: its date column, and at least one column of a security beside it."""
    other = sorted(set(mapping) - {"date"})
    if other:
        raise DataFileError(
            path,
            f'[data.columns] {", ".join(other)}: a wide file (layout = "wide") has a date column and one column of '
            "returns per security, named by its identifier; name only its date column (date = ...)",
        )
    date = _mapped(path, header, mapping).get("date", str(header[0]))
    if len(header) < 2:
        raise DataFileError(path, f"a wide file has a date column and a column per security; it has only {date!r}")
    return Layout(WIDE, {"date": date}, 1.0, wide=True)
