"""The study file's tables for its own data ([data]) and for the designs beside the returns
([volume], [volatility], [long]), read as studyfile.py reads the others."""

from __future__ import annotations

import re
from pathlib import Path

from ..core.calendar import EXCHANGE, check_exchange, register_sessions
from ..core.longrun import MIN_PORTFOLIO
from ..core.windows import Window
from ..data.files import SHAPES, UNITS, DataSpec, data_calendar, layout_of
from ..data.files.spec import ROLES as DATA_ROLES
from ..errors import CalendarError, DataFileError
from .horizons import CALENDAR_MODELS, LongSpec
from .reader import BAD, Reader, read_window
from .spec import BenchmarkSpec
from .volume import MODELS as VOLUME_MODELS
from .volume import VolumeSpec

DATA_KEYS = {
    "returns",
    "market",
    "delisting",
    "factors",
    "names",
    "calendar",
    "units",
    "columns",
    "shares_scale",
    "performance_delisting_return",
    "date_format",
    "currency",
    "layout",
}


def read_data(r: Reader, study_file: Path) -> tuple[DataSpec | None, str]:
    """``[data]``: the study's own files (paths relative to the study file), checked as far as
    their headers; and the calendar its sessions are counted in."""
    r.unknown(DATA_KEYS)

    def path(key: str, required: bool = False) -> Path | None:
        name = r.get(key, str, ... if required else None)
        return None if name in (None, BAD) else _data_file(r, key, name, study_file)

    factors = r.get("factors", (str, list), [])
    factors = [factors] if isinstance(factors, str) else factors
    if not all(isinstance(f, str) for f in factors):
        r.fail("factors", f"must be a file name or a list of them, got {factors!r}")
        factors = []
    columns = r.get("columns", dict, {})
    for role in sorted(set(columns) - set(DATA_ROLES)):
        r.fail(f"columns.{role}", f"is not a role of a returns file (roles: {', '.join(DATA_ROLES)})")
    scale = r.get("shares_scale", (int, float), None)
    delist = r.get("performance_delisting_return", (int, float), None)
    if delist is not None and not -1 <= delist <= 0:
        r.fail("performance_delisting_return", f"must be a return between -1 and 0 (Shumway 1997: -0.3), got {delist}")
    spec = DataSpec(
        returns=path("returns", required=True) or Path(),
        market=path("market"),
        delisting=path("delisting"),
        factors=tuple(f for f in (_data_file(r, "factors", x, study_file) for x in factors) if f.is_file()),
        names=path("names"),
        calendar=r.get("calendar", str, EXCHANGE),
        units=r.get("units", str, "decimal"),
        columns={k: v for k, v in columns.items() if k in DATA_ROLES and isinstance(v, str)},
        shares_scale=float(scale) if scale is not None else None,
        performance_delisting_return=float(delist) if delist is not None else None,
        date_format=r.get("date_format", str, ""),
        currency=r.get("currency", str, "USD"),
        layout=r.get("layout", str, "long"),
    )
    if not re.fullmatch(r"[A-Z]{3}", spec.currency):
        r.fail("currency", f'must be an ISO 4217 code of three capitals such as "GBP", got {spec.currency!r}')
    if spec.layout not in SHAPES:
        r.fail("layout", f"must be one of {', '.join(SHAPES)}, got {spec.layout!r}")
    if spec.units not in UNITS:
        r.fail("units", f"must be one of {', '.join(UNITS)}, got {spec.units!r}")
    if spec.returns.is_file():
        try:
            layout_of(spec)
        except DataFileError as exc:
            r.fail("returns", str(exc))
    try:
        if spec.calendar == "data":
            if spec.market is None or not spec.market.is_file():
                r.fail("calendar", '"data" counts sessions in the market file\'s dates: set market = "..."')
                return spec, EXCHANGE
            return spec, register_sessions(f"data:{spec.market}", data_calendar(spec))
        return spec, check_exchange(spec.calendar)
    except (DataFileError, CalendarError) as exc:
        read = (
            '"data" counts sessions in the market file\'s dates, which cannot be read: '
            if spec.calendar == "data"
            else ""
        )
        r.fail("calendar", read + str(exc))
        return spec, EXCHANGE


def _data_file(r: Reader, key: str, name: str, study_file: Path) -> Path:
    """The file ``name`` of ``[data]`` key ``key``, resolved against the study file's folder (a
    file that is not there is a problem of that key)."""
    file = (study_file.parent / Path(name).expanduser()).resolve()
    if not file.is_file():
        r.fail(key, f"{name}: no such file ({file})")
    return file


def read_volume(r: Reader) -> VolumeSpec:
    r.unknown({"model"})
    model = r.get("model", str, "market")
    if model not in VOLUME_MODELS:
        r.fail("model", f"must be one of {', '.join(VOLUME_MODELS)}, got {model!r}")
    return VolumeSpec(model)


def read_long(r: Reader, benchmarks: dict[str, BenchmarkSpec], benchmark: str) -> LongSpec:
    """``[long]``: its windows (sessions from day 0), the reference (a ticker joins the
    benchmarks, as ``model.benchmark`` does), the calendar-time model and its least portfolio."""
    r.unknown({"windows", "reference", "calendar_time", "min_firms"})
    given = r.get("windows", list, [[0, 250]])
    windows = tuple(w for i, v in enumerate(given) if (w := read_window(r, f"windows[{i}]", v, None, {})))
    if not given:
        r.fail("windows", "needs at least one window, e.g. [[0, 250]]")
    reference = r.get("reference", str, benchmark)
    if reference not in benchmarks:
        benchmarks[reference] = BenchmarkSpec(reference, ticker=reference)
    model = r.get("calendar_time", str, "")
    if model and model not in CALENDAR_MODELS:
        r.fail("calendar_time", f"must be one of {', '.join(CALENDAR_MODELS)} (or absent), got {model!r}")
    min_firms = r.get("min_firms", int, MIN_PORTFOLIO)
    if min_firms < 2:
        r.fail("min_firms", f"must be at least 2 firms, got {min_firms}")
    return LongSpec(windows or (Window(0, 250),), reference, model, min_firms)


def read_volatility(r: Reader) -> bool:
    """``[volatility]`` (no keys yet: its windows are the study's, inside the path)."""
    r.unknown(set())
    return True
