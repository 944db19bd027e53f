"""Study definitions: a TOML file (``analyses/<name>/study.toml``), checked whole before any data is read.

Reading collects every problem of the file — each naming the file and the field — and raises
them together as one :class:`~eventstudy.errors.StudyFileError`. The study it makes is a
:class:`~eventstudy.study.spec.Study`; :func:`~eventstudy.study.checks.check` then checks its
cross-references (claims, windows, groups, benchmark, focus), types and ranges, as it does after
command-line overrides (:func:`~eventstudy.study.checks.with_overrides`) and on a study built
in Python, so that nothing invalid reaches the analysis. See
``analyses/deepseek-2025/study.toml`` for a complete, commented example; the README explains
each field.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.calendar import EXCHANGE, check_exchange, offset_of, register_sessions
from ..core.longrun import MIN_PORTFOLIO
from ..core.windows import Window
from ..data.files import UNITS, DataSpec, data_calendar, layout_of
from ..data.files.spec import ROLES as DATA_ROLES
from ..data.quality import QualitySpec
from ..errors import CalendarError, DataFileError, StudyFileError
from .checks import check
from .claims.metrics import FALL_ALIASES
from .claims.rules import RULE_FALL_ALIASES
from .events import REQUIRED as REQUIRED_EVENT_COLUMNS
from .events import RESERVED as RESERVED_EVENT_COLUMNS
from .horizons import CALENDAR_MODELS, LongSpec
from .spec import DERIVED_CHARACTERISTICS, BenchmarkSpec, ClaimSpec, EventsSpec, GroupSpec, ReportSpec, Study
from .volume import MODELS as VOLUME_MODELS
from .volume import VolumeSpec
from .workspace import find_study

GROUP_KEYS = {"tickers", "union", "from_table", "within"}


_BAD = object()  # a field whose value was wrong: its problem is recorded, reading goes on


class _Reader:
    """Typed access to one TOML table. A problem is recorded (file, dotted field, why) and
    reading goes on, so that one pass lists every problem of the file."""

    def __init__(self, problems: list[tuple[str, str]], data: Any, prefix: str = "") -> None:
        self.problems, self.prefix = problems, prefix
        self.data = data if isinstance(data, dict) else {}

    def fail(self, key: str, why: str) -> None:
        self.problems.append((f"{self.prefix}{key}", why))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                self.fail(key, "is missing")
                return _BAD
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(key, f"must be {names}, got {type(value).__name__} {value!r}")
            return _BAD if default is ... else default
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        bad = [v for v in values if not isinstance(v, str)]
        if bad:
            self.fail(key, f"must be a list of strings, got {bad[0]!r}")
        return tuple(v for v in values if isinstance(v, str))

    def table(self, key: str, required: bool = True) -> _Reader:
        value = self.get(key, dict, ... if required else {})
        return _Reader(self.problems, value if isinstance(value, dict) else {}, f"{self.prefix}{key}.")

    def unknown(self, allowed: set[str]) -> None:
        for extra in sorted(set(self.data) - allowed):
            self.fail(extra, f"is not a known field (known: {', '.join(sorted(allowed))})")


def _date(r: _Reader, key: str, value: Any) -> pd.Timestamp | None:
    """A calendar date: a TOML date or a 'YYYY-MM-DD' string; a time or a time zone is refused."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            r.fail(key, f"must be a date without a time zone, got {value.isoformat()}")
            return None
        if value.time() != datetime.time():
            r.fail(key, f"must be a date (YYYY-MM-DD), not a date and time ({value.isoformat()})")
            return None
    elif not isinstance(value, str | datetime.date):
        r.fail(key, f"must be a date (YYYY-MM-DD), got {type(value).__name__} {value!r}")
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        r.fail(key, f"is not a date ({exc})")
        return None
    if ts is pd.NaT:
        r.fail(key, f"is not a date (YYYY-MM-DD), got {value!r}")
        return None
    if ts.tz is not None or ts != ts.normalize():
        r.fail(key, f"must be a date without a time or time zone, got {value!r}")
        return None
    return ts


def _window(
    r: _Reader, key: str, value: Any, event: pd.Timestamp | None, dates: dict[str, str], exchange: str = EXCHANGE
) -> Window | None:
    if isinstance(value, dict):
        w = _Reader(r.problems, value, f"{r.prefix}{key}.")
        w.unknown({"label", "start", "end"})
        start, end, label = w.get("start", int), w.get("end", (int, str)), w.get("label", str)
        if _BAD in (start, end, label):
            return None
        if isinstance(end, str) and event is None:
            w.fail("end", "a window may end on a date only in a study with one event date")
            return None
        if isinstance(end, str):
            day = _date(w, "end", end)
            try:
                offset = offset_of(event, day, exchange) if day is not None else None
            except CalendarError as exc:
                w.fail("end", str(exc))
                offset = None
            if offset is None:
                return None
            dates[label], end = end, offset
        value, text = [start, end], label
    else:
        text = ""
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        r.fail(key, f"must be [start, end] in sessions, got {value!r}")
        return None
    try:
        return Window(*value, text)
    except ValueError as exc:
        r.fail(key, str(exc))
        return None


def _groups(r: _Reader) -> dict[str, GroupSpec]:
    out = {}
    for name, value in r.data.items():
        if isinstance(value, list):
            value = {"tickers": value}
        if not isinstance(value, dict):
            r.fail(name, f"must be a list of tickers or a table, got {value!r}")
            value = {}
        g = _Reader(r.problems, value, f"{r.prefix}{name}.")
        g.unknown(GROUP_KEYS)
        out[name] = GroupSpec(
            name, g.strings("tickers"), g.strings("union"), g.get("from_table", str, ""), g.get("within", str, "")
        )
    return out


def _claims(r: _Reader, items: list) -> tuple[ClaimSpec, ...]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            r.fail(f"claims[{i}]", "must be a table ([[claims]])")
            continue
        c = _Reader(r.problems, item, f"claims[{i}].")
        c.unknown({f.name for f in ClaimSpec.__dataclass_fields__.values()})
        before = len(r.problems)
        values = {
            "id": c.get("id", str),
            "article": c.get("article", str),
            "says": c.get("says", str),
            "metric": c.get("metric", str),
            "rule": c.get("rule", str),
            "title": c.get("title", str, ""),
            "figure": c.get("figure", (int, float), None),
            "unit": c.get("unit", str, ""),
            "ticker": c.get("ticker", str, ""),
            "universes": c.strings("universes"),
            "window": c.get("window", str, ""),
            "direction": c.get("direction", str, "fall"),
        }
        if len(r.problems) == before:
            out.append(_with_aliases(ClaimSpec(**values), c))
    return tuple(out)


def _with_aliases(spec: ClaimSpec, c: _Reader) -> ClaimSpec:
    """Earlier metric and rule names (``mv_loss``, ``all_fell``, ...) mean a fall."""
    metric, rule = FALL_ALIASES.get(spec.metric, spec.metric), RULE_FALL_ALIASES.get(spec.rule, spec.rule)
    if (metric, rule) != (spec.metric, spec.rule) and spec.direction != "fall":
        c.fail("direction", f"{spec.metric!r}/{spec.rule!r} describe a fall; use {metric!r}/{rule!r} for a rise")
    return replace(spec, metric=metric, rule=rule)


def _benchmarks(r: _Reader) -> dict[str, BenchmarkSpec]:
    out = {}
    for name in r.data:
        b = r.table(name)
        b.unknown({"ticker", "weights", "exclude"})
        out[name] = BenchmarkSpec(name, b.get("ticker", str, ""), b.get("weights", str, ""), b.strings("exclude"))
    return out


def _report(r: _Reader) -> ReportSpec:
    r.unknown({"focus", "drop_mark_pct", "marks_bn", "colour_groups", "notes"})
    marks = r.get("marks_bn", list, [])
    if not all(isinstance(m, int | float) and not isinstance(m, bool) for m in marks):
        r.fail("marks_bn", f"must be a list of numbers (USD bn), got {marks!r}")
        marks = []
    return ReportSpec(
        focus=r.get("focus", str, ""),
        drop_mark_pct=r.get("drop_mark_pct", (int, float), None),
        marks_bn=tuple(float(m) for m in marks),
        colour_groups=r.strings("colour_groups"),
        notes=r.strings("notes"),
    )


def _events(r: _Reader, study_file: Path) -> EventsSpec | None:
    """``[events]``: the table must exist beside the study file (a path that leaves the study's
    folder is refused, and no content of a file is ever echoed) and have the columns the study
    names."""
    r.unknown({"file", "group_by", "characteristics", "date_format"})
    name = r.get("file", str)
    date_format = r.get("date_format", str, "")
    if date_format and "%" not in date_format:
        r.fail("date_format", f'must be a strftime format such as "%d/%m/%Y", got {date_format!r}')
    spec = EventsSpec(Path(), r.strings("group_by"), r.strings("characteristics"), date_format)
    if name is _BAD:
        return spec
    folder = study_file.parent.resolve()
    file = (study_file.parent / name).resolve()
    if folder not in file.parents:
        r.fail("file", f"{name} leaves the study's folder: an events file lies beside study.toml (or below it)")
        return replace(spec, file=file)
    try:
        header = pd.read_csv(file, nrows=0).columns
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
        r.fail("file", f"{name} cannot be read as a CSV table ({why})")
        return replace(spec, file=file)
    for key, columns in (
        ("file", REQUIRED_EVENT_COLUMNS),
        ("group_by", spec.group_by),
        ("characteristics", [c for c in spec.characteristics if c not in DERIVED_CHARACTERISTICS]),
    ):
        for c in columns:
            if c not in header:
                r.fail(key, f"{name} has no column {c!r} (columns: {', '.join(map(str, header[:20]))})")
    for c in sorted(set(header) & set(DERIVED_CHARACTERISTICS)):
        r.fail("file", f"{name} has a column {c!r}, the name of a characteristic eventstudy computes: rename it")
    for c in [c for c in RESERVED_EVENT_COLUMNS if c in header]:
        r.fail("file", f"{name} has a column {c!r}, a name eventstudy writes for each event: rename it")
    return replace(spec, file=file)


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
}


def _data(r: _Reader, study_file: Path) -> tuple[DataSpec | None, str]:
    """``[data]``: the study's own files (paths relative to the study file), checked as far as
    their headers; and the calendar its sessions are counted in."""
    r.unknown(DATA_KEYS)

    def path(key: str, required: bool = False) -> Path | None:
        name = r.get(key, str, ... if required else None)
        if name in (None, _BAD):
            return None
        file = (study_file.parent / Path(name).expanduser()).resolve()
        if not file.is_file():
            r.fail(key, f"{name}: no such file ({file})")
        return file

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
        factors=tuple(f for f in (path_of(study_file, x, r) for x in factors) if f is not None),
        names=path("names"),
        calendar=r.get("calendar", str, EXCHANGE),
        units=r.get("units", str, "decimal"),
        columns={k: v for k, v in columns.items() if k in DATA_ROLES and isinstance(v, str)},
        shares_scale=float(scale) if scale is not None else None,
        performance_delisting_return=float(delist) if delist is not None else None,
        date_format=r.get("date_format", str, ""),
    )
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
        r.fail("calendar", str(exc))
        return spec, EXCHANGE


def path_of(study_file: Path, name: str, r: _Reader) -> Path | None:
    file = (study_file.parent / Path(name).expanduser()).resolve()
    if not file.is_file():
        r.fail("factors", f"{name}: no such file ({file})")
        return None
    return file


def _volume(r: _Reader) -> VolumeSpec:
    r.unknown({"model"})
    model = r.get("model", str, "market")
    if model not in VOLUME_MODELS:
        r.fail("model", f"must be one of {', '.join(VOLUME_MODELS)}, got {model!r}")
    return VolumeSpec(model)


def _long(r: _Reader, benchmarks: dict[str, BenchmarkSpec], benchmark: str) -> LongSpec:
    """``[long]``: its windows (sessions from day 0), the reference (a ticker joins the
    benchmarks, as ``model.benchmark`` does), the calendar-time model and its least portfolio."""
    r.unknown({"windows", "reference", "calendar_time", "min_firms"})
    given = r.get("windows", list, [[0, 250]])
    windows = tuple(w for i, v in enumerate(given) if (w := _window(r, f"windows[{i}]", v, None, {})))
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


def _volatility(r: _Reader) -> bool:
    """``[volatility]`` (no keys yet: its windows are the study's, inside the path)."""
    r.unknown(set())
    return True


def _quality(r: _Reader) -> QualitySpec:
    r.unknown({"no_trading_days", "exclude"})
    return QualitySpec(r.get("no_trading_days", int, QualitySpec.no_trading_days), r.strings("exclude"))


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise StudyFileError(path, "(file)", f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise StudyFileError(path, "(file)", "is not a text file (not UTF-8): a study file is TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(path, "(syntax)", f"is not a study file: its TOML does not parse ({exc})") from None


# the tables a study file may have
TABLES = {"study", "model", "groups", "claims", "benchmarks", "report", "quality", "events", "data"}
TABLES |= {"volume", "volatility", "long"}


def load_study(name_or_path: str | Path) -> Study:
    """Read and check a study file (a name under ``analyses/`` or a path): every problem of
    the file is raised at once, as one :class:`StudyFileError`."""
    path = find_study(name_or_path)
    problems: list[tuple[str, str]] = []
    top = _Reader(problems, _read(path))
    top.unknown(TABLES)
    s, m = top.table("study"), top.table("model", required=False)
    s.unknown({"name", "title", "event_date", "label", "description"})
    m.unknown(
        {
            "name",
            "benchmark",
            "estimation",
            "windows",
            "path",
            "min_estimation_obs",
            "indices",
            "sensitivity",
            "returns",
            "exclude_other_events",
            "thin_trading",
        }
    )
    events = _events(top.table("events"), path) if "events" in top.data else None
    if events is not None and "event_date" in s.data:
        s.fail("event_date", "a study has one event date or an [events] table of firm-events, not both")
    event_value = s.get("event_date", (str, datetime.date), None if events is not None else ...)
    event = None if event_value in (_BAD, None) else _date(s, "event_date", event_value)
    data, exchange = _data(top.table("data"), path) if "data" in top.data else (None, EXCHANGE)
    dates: dict[str, str] = {}
    given = m.get("windows", list, [[0, 0], [-1, 1], [0, 1], [0, 4], [-5, 5]])
    windows = tuple(w for i, v in enumerate(given) if (w := _window(m, f"windows[{i}]", v, event, dates, exchange)))
    partial = len(windows) != len(given)  # a window that could not be read: its problem is listed
    estimation = _window(m, "estimation", m.get("estimation", list, [-250, -11]), event, dates, exchange)
    path_window = _window(m, "path", m.get("path", list, [-10, 10]), event, dates, exchange)
    benchmarks = _benchmarks(top.table("benchmarks", required=False))
    benchmark = m.get("benchmark", str, "SPY")
    if benchmark not in benchmarks:
        benchmarks[benchmark] = BenchmarkSpec(benchmark, ticker=benchmark)
    claims = _claims(top, top.get("claims", list, []))
    study = Study(
        name=s.get("name", str, path.parent.name),
        title=s.get("title", str),
        event_date=event,
        label=s.get("label", str, ""),
        model=_thin_trading(m, m.get("name", str, "market")),
        benchmark=benchmark,
        estimation=estimation,
        windows=windows,
        path=path_window,
        min_estimation_obs=m.get("min_estimation_obs", int, 120),
        groups=_groups(top.table("groups", required=events is None)),
        claims=_claim_windows(claims, windows, top),
        indices=m.strings("indices"),
        benchmarks=benchmarks,
        sensitivity=m.strings("sensitivity"),
        path_file=path,
        description=s.get("description", str, ""),
        window_dates=dates,
        report=_report(top.table("report", required=False)),
        quality=_quality(top.table("quality", required=False)),
        events=events,
        returns=m.get("returns", str, "total"),
        exclude_other_events=m.get("exclude_other_events", bool, True),
        data=data,
        exchange=exchange,
        volume=_volume(top.table("volume")) if "volume" in top.data else None,
        volatility=_volatility(top.table("volatility")) if "volatility" in top.data else False,
        long=_long(top.table("long"), benchmarks, benchmark) if "long" in top.data else None,
    )
    problems += check(study, partial=partial)
    if problems:
        raise StudyFileError(path, problems)
    return study


# model.thin_trading → the model that corrects for it
THIN_TRADING = {"dimson": "dimson", "scholes-williams": "scholes-williams", "trade-to-trade": "trade-to-trade"}


def _thin_trading(m: _Reader, name: str) -> str:
    """``model.thin_trading`` (Dimson's lag and lead betas) turns the market model into its
    thin-trading form."""
    thin = m.get("thin_trading", str, "")
    if not thin:
        return name
    if thin not in THIN_TRADING:
        m.fail("thin_trading", f"must be one of {', '.join(THIN_TRADING)}, got {thin!r}")
        return name
    if name != "market":
        m.fail("thin_trading", f"corrects the market model's beta; the model is {name!r}")
        return name
    return THIN_TRADING[thin]


def _claim_windows(claims: tuple[ClaimSpec, ...], windows: tuple[Window, ...], top: _Reader) -> tuple[ClaimSpec, ...]:
    """Each claim's window as a label of the study's windows: ``"[0, 1]"`` or ``"[0,1]"`` names
    the generated label ``[0,+1]``; a name that is no window is a problem of that claim."""
    known = ", ".join(["day 0", *(w.label for w in windows)])
    labels = {w.label: w.label for w in windows}
    labels.update({f"[{w.start},{w.end}]": w.label for w in windows})
    labels.update({"day 0": "", "[0,0]": "", "": ""})
    out = []
    for i, c in enumerate(claims):
        key = re.sub(r"\s+", "", c.window) if c.window.strip().startswith("[") else c.window
        if key not in labels:
            top.fail(
                f"claims[{i}].window",
                f"names no window of the study: {c.window!r} (windows: {known}; the default is day 0)",
            )
            continue
        out.append(replace(c, window=labels[key]))
    return tuple(out)
