"""Study definitions: a TOML file (``analyses/<name>/study.toml``), checked whole before any data is read.

Reading collects every problem of the file — each naming the file and the field — and raises
them together as one :class:`~eventstudy.errors.StudyFileError`. :func:`check` is the same
pass over a :class:`Study` object: the cross-references (claims, windows, groups, benchmark,
focus), types and ranges. It runs on every study file, after command-line overrides
(:func:`with_overrides`) and on a study built in Python, so that nothing invalid reaches the
analysis. See ``analyses/deepseek-2025/study.toml`` for a complete, commented example; the
README explains each field.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.calendar import offset_of, roll_event_date
from ..core.models import MODELS
from ..core.windows import Window, as_window, event_grid
from ..data.quality import KINDS as QUALITY_KINDS
from ..data.quality import QualitySpec
from ..errors import CalendarError, StudyFileError
from .claims import DIRECTIONS, FALL_ALIASES, METRICS, RULE_FALL_ALIASES, RULES
from .events import REQUIRED as REQUIRED_EVENT_COLUMNS
from .events import RESERVED as RESERVED_EVENT_COLUMNS
from .workspace import NAME, find_study

GROUP_KEYS = {"tickers", "union", "from_table", "within"}
GROUP_TABLES = ("market_values_2026",)
MAX_SESSIONS = 2520  # ten years of sessions: the farthest any window may reach from day 0
TICKER = re.compile(r"\^?[A-Z0-9][A-Z0-9.=-]{0,14}")


@dataclass(frozen=True)
class GroupSpec:
    """Tickers, the union of other groups, or a table's tickers — optionally kept ``within``
    another group."""

    name: str
    tickers: tuple[str, ...] = ()
    union: tuple[str, ...] = ()
    from_table: str = ""
    within: str = ""


@dataclass(frozen=True)
class ClaimSpec:
    """One checkable claim: what the article says, the metric computed, the wording rule, and
    the window it is judged on (``""`` = day 0)."""

    id: str
    article: str
    says: str
    metric: str
    rule: str
    title: str = ""
    figure: float | None = None
    unit: str = ""
    ticker: str = ""
    universes: tuple[str, ...] = ()
    window: str = ""
    direction: str = "fall"


@dataclass(frozen=True)
class BenchmarkSpec:
    """A market series: a ticker (``SPY``, ``^GSPC``) or an index constructed from the data's
    stocks (``weights`` = value|equal), minus the stocks of the ``exclude`` groups."""

    name: str
    ticker: str = ""
    weights: str = ""
    exclude: tuple[str, ...] = ()

    @property
    def constructed(self) -> bool:
        return not self.ticker


@dataclass(frozen=True)
class ReportSpec:
    """What the report shows beyond the numbers: the focus firm of the price and fit figures,
    lines to mark, bar colours by group, and the study's own notes (printed under
    Limitations)."""

    focus: str = ""
    drop_mark_pct: float | None = None
    marks_bn: tuple[float, ...] = ()
    colour_groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventsSpec:
    """``[events]`` of a study file: a table of firm-events on their own dates (``file``,
    resolved against the study file's folder); ``group_by`` columns whose values make groups,
    ``characteristics`` columns that explain the CARs in the second stage, or characteristics
    that eventstudy computes (:data:`DERIVED_CHARACTERISTICS`)."""

    file: Path
    group_by: tuple[str, ...] = ()
    characteristics: tuple[str, ...] = ()
    date_format: str = ""  # how the file writes its dates when not YYYY-MM-DD (e.g. "%d/%m/%Y")


RETURNS = ("total", "price")
# characteristics computed for every event, which a study may name without a column of that name
DERIVED_CHARACTERISTICS = {
    "log_market_value": "ln of the firm's market value in USD bn at the close before day 0",
}


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    event_date: pd.Timestamp
    label: str
    model: str
    benchmark: str
    estimation: Window
    windows: tuple[Window, ...]
    path: Window
    min_estimation_obs: int
    groups: dict[str, GroupSpec]
    claims: tuple[ClaimSpec, ...]
    indices: tuple[str, ...]
    benchmarks: dict[str, BenchmarkSpec]
    sensitivity: tuple[str, ...]
    path_file: Path
    description: str = ""
    window_dates: dict[str, str] = field(default_factory=dict)
    report: ReportSpec = field(default_factory=ReportSpec)
    quality: QualitySpec = field(default_factory=QualitySpec)
    overrides: tuple[str, ...] = ()
    events: EventsSpec | None = None
    returns: str = "total"
    exclude_other_events: bool = True

    @property
    def is_sample(self) -> bool:
        """Firm-events on their own dates (``[events]``), not one event date."""
        return self.events is not None

    @property
    def folder(self) -> Path:
        return self.path_file.parent


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


def _window(r: _Reader, key: str, value: Any, event: pd.Timestamp | None, dates: dict[str, str]) -> Window | None:
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
                offset = offset_of(event, day) if day is not None else None
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


def load_study(name_or_path: str | Path) -> Study:
    """Read and check a study file (a name under ``analyses/`` or a path): every problem of
    the file is raised at once, as one :class:`StudyFileError`."""
    path = find_study(name_or_path)
    problems: list[tuple[str, str]] = []
    top = _Reader(problems, _read(path))
    top.unknown({"study", "model", "groups", "claims", "benchmarks", "report", "quality", "events"})
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
        }
    )
    events = _events(top.table("events"), path) if "events" in top.data else None
    if events is not None and "event_date" in s.data:
        s.fail("event_date", "a study has one event date or an [events] table of firm-events, not both")
    event_value = s.get("event_date", (str, datetime.date), None if events is not None else ...)
    event = None if event_value in (_BAD, None) else _date(s, "event_date", event_value)
    dates: dict[str, str] = {}
    given = m.get("windows", list, [[0, 0], [-1, 1], [0, 1], [0, 4], [-5, 5]])
    windows = tuple(w for i, v in enumerate(given) if (w := _window(m, f"windows[{i}]", v, event, dates)))
    partial = len(windows) != len(given)  # a window that could not be read: its problem is listed
    estimation = _window(m, "estimation", m.get("estimation", list, [-250, -11]), event, dates)
    path_window = _window(m, "path", m.get("path", list, [-10, 10]), event, dates)
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
        model=m.get("name", str, "market"),
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
    )
    problems += check(study, partial=partial)
    if problems:
        raise StudyFileError(path, problems)
    return study


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


def check(study: Study, partial: bool = False) -> list[tuple[str, str]]:
    """Every cross-reference, type and range of ``study``, as a list of (field, problem);
    ``partial``: some windows could not be read (their problems are listed already)."""
    problems: list[tuple[str, str]] = []

    def fail(f: str, why: str) -> None:
        problems.append((f, why))

    if not (isinstance(study.name, str) and NAME.fullmatch(study.name)):
        fail("study.name", f"must be a short name of lower-case letters, digits, '.', '-' or '_', got {study.name!r}")
    if study.model not in MODELS:
        fail("model.name", f"unknown model {study.model!r} (known: {', '.join(sorted(MODELS))})")
    _check_windows(study, fail, partial)
    if not isinstance(study.min_estimation_obs, int) or study.min_estimation_obs < 1:
        fail("model.min_estimation_obs", f"must be a positive number of sessions, got {study.min_estimation_obs!r}")
    elif study.estimation is not None and study.min_estimation_obs > study.estimation.length:
        fail(
            "model.min_estimation_obs",
            f"{study.min_estimation_obs} is more than the {study.estimation.length} sessions of the estimation window",
        )
    explicit = _check_groups(study, fail)
    open_ended = any(g.from_table for g in study.groups.values())  # members known only from data
    _check_benchmarks(study, fail, explicit)
    for t in study.indices:
        if not TICKER.fullmatch(t):
            fail("model.indices", f"{t!r} is not a ticker")
    _check_claims(study, fail, explicit, open_ended)
    rep = study.report
    if rep.focus and rep.focus not in explicit and not open_ended:
        fail("report.focus", f"{rep.focus!r} is not a firm of any group")
    for key, values in (("drop_mark_pct", [rep.drop_mark_pct]), ("marks_bn", rep.marks_bn)):
        if any(v is not None and not math.isfinite(v) for v in values):
            fail(f"report.{key}", "must be finite numbers")
    for g in rep.colour_groups:
        if g not in study.groups:
            fail("report.colour_groups", f"unknown group {g!r}")
    if study.returns not in RETURNS:
        fail("model.returns", f"must be one of {', '.join(RETURNS)}, got {study.returns!r}")
    if study.is_sample:
        _check_sample(study, fail)
    q = study.quality
    if not isinstance(q.no_trading_days, int) or q.no_trading_days < 2:
        fail("quality.no_trading_days", f"must be a number of sessions of at least 2, got {q.no_trading_days!r}")
    for kind in q.exclude:
        if kind not in QUALITY_KINDS:
            fail("quality.exclude", f"unknown kind of flag {kind!r} (known: {', '.join(QUALITY_KINDS)})")
    return problems


def _check_sample(study: Study, fail) -> None:
    """What a sample of firm-events on their own dates cannot have (yet)."""
    if study.claims:
        fail("claims", "claims are checked against one event date; a sample ([events]) has none")
    for name in (study.benchmark, *study.sensitivity):
        b = study.benchmarks.get(name)
        if b is not None and b.constructed:
            fail("benchmarks", f"{name!r} is a constructed index: a sample ([events]) needs a listed benchmark")
    if study.sensitivity:
        fail("model.sensitivity", "a sample ([events]) runs under one benchmark")
    if any(g.from_table for g in study.groups.values()):
        fail("groups", "a sample's groups are lists of tickers or [events] group_by columns, not tables")


def _check_windows(study: Study, fail, partial: bool) -> None:
    if study.event_date is None and not study.is_sample:
        return
    try:
        if study.event_date is not None:
            roll_event_date(study.event_date)
    except CalendarError as exc:
        fail("study.event_date", str(exc))
        return
    if not study.windows and not partial:
        fail("model.windows", "needs at least one event window, e.g. [[0, 0], [-1, 1]]")
    named = (("model.estimation", study.estimation), ("model.path", study.path))
    every = [*named, *((f"model.windows[{i}]", w) for i, w in enumerate(study.windows))]
    if any(w is None for _, w in named):
        return
    too_far = False
    for key, w in every:
        if max(abs(w.start), abs(w.end)) > MAX_SESSIONS:
            fail(key, f"[{w.start}, {w.end}] reaches more than {MAX_SESSIONS} sessions (ten years) from day 0")
            too_far = True
    if too_far:  # nothing more is checked (or allocated) for windows that reach that far
        return
    if not study.path.start <= 0 <= study.path.end:
        fail("model.path", f"[{study.path.start}, {study.path.end}] must include day 0")
    labels = [w.label for w in study.windows]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        fail("model.windows", f"two windows share the label {label!r}")
    try:
        event_grid(study.estimation, study.windows, study.path)
    except ValueError as exc:
        fail("model.windows", str(exc))


def _check_groups(study: Study, fail) -> set[str]:
    """Group references, cycles and member tickers; returns every ticker named in a group."""
    if not study.groups and not study.is_sample:
        fail("groups", "needs at least one group of firms")
    explicit: set[str] = set()
    for name, g in study.groups.items():
        for ref in (*g.union, *([g.within] if g.within else [])):
            if ref not in study.groups:
                fail(f"groups.{name}", f"refers to unknown group {ref!r}")
        if g.from_table and g.from_table not in GROUP_TABLES:
            fail(f"groups.{name}.from_table", f"unknown table {g.from_table!r} (known: {', '.join(GROUP_TABLES)})")
        for t in g.tickers:
            if not TICKER.fullmatch(t):
                fail(f"groups.{name}.tickers", f"{t!r} is not a ticker (upper-case letters, digits, '.', '-')")
            elif t.startswith("^"):
                fail(f"groups.{name}.tickers", f"{t!r} is an index, not a firm: list it under model.indices")
        explicit.update(g.tickers)
    for name in study.groups:
        cycle = _cycle(study.groups, name, [])
        if cycle and cycle[0] == name:
            fail(f"groups.{name}", f"refers to itself: {' → '.join(cycle)}")
    return explicit


def _cycle(groups: dict[str, GroupSpec], name: str, trail: list[str]) -> list[str]:
    if name in trail:
        return [*trail[trail.index(name) :], name]
    g = groups.get(name)
    for ref in (*g.union, *([g.within] if g.within else [])) if g else ():
        found = _cycle(groups, ref, [*trail, name])
        if found:
            return found
    return []


def _check_benchmarks(study: Study, fail, explicit: set[str]) -> None:
    for name, b in study.benchmarks.items():
        key = "model.benchmark" if b.ticker == name else f"benchmarks.{name}"
        if b.ticker:
            if b.weights or b.exclude:
                fail(key, "a listed series (ticker) takes no weights or exclude")
            if not TICKER.fullmatch(b.ticker):
                fail(key, f"{b.ticker!r} is not a ticker, nor a name under [benchmarks]")
            elif b.ticker in explicit:
                fail(key, f"{b.ticker} is one of the event firms: a firm cannot be its own benchmark")
        elif b.weights not in ("value", "equal"):
            fail(f"{key}.weights", f"must be 'value' or 'equal' for a constructed index, got {b.weights!r}")
        for g in b.exclude:
            if g not in study.groups:
                fail(f"{key}.exclude", f"unknown group {g!r} (known: {', '.join(sorted(study.groups))})")
    for b in study.sensitivity:
        if b not in study.benchmarks:
            fail("model.sensitivity", f"unknown benchmark {b!r} (define it under [benchmarks])")


def _check_claims(study: Study, fail, explicit: set[str], open_ended: bool) -> None:
    ids = [c.id for c in study.claims]
    for i, c in enumerate(study.claims):
        key = f"claims[{i}]"
        if ids.count(c.id) > 1:
            fail(f"{key}.id", f"{c.id!r} is used by more than one claim")
        metric, rule = METRICS.get(c.metric), RULES.get(c.rule)
        if metric is None:
            fail(f"{key}.metric", f"unknown metric {c.metric!r} (known: {', '.join(sorted(METRICS))})")
        if rule is None:
            fail(f"{key}.rule", f"unknown rule {c.rule!r} (known: {', '.join(sorted(RULES))})")
        if c.direction not in DIRECTIONS:
            fail(f"{key}.direction", f"must be 'fall' or 'rise', got {c.direction!r}")
        if metric is None or rule is None:
            continue
        if c.metric not in rule.metrics:
            fail(
                f"{key}.rule",
                f"{c.rule!r} cannot judge the metric {c.metric!r} (it judges: {', '.join(sorted(rule.metrics))})",
            )
        if rule.figure and c.figure is None:
            fail(f"{key}.figure", f"is missing: the rule {c.rule!r} compares the article's figure")
        if c.figure is not None and not (math.isfinite(c.figure) and c.figure > 0):
            fail(
                f"{key}.figure", f"must be a positive, finite magnitude (a fall is set by direction), got {c.figure!r}"
            )
        if c.unit and c.unit != metric.unit:
            fail(f"{key}.unit", f"the metric {c.metric!r} is in {metric.unit!r}, got {c.unit!r}")
        if c.window and not metric.windowed:
            fail(f"{key}.window", f"the metric {c.metric!r} is measured on day 0 only")
        if metric.subject == "ticker":
            series = {*study.indices, *(b.ticker for b in study.benchmarks.values() if b.ticker)}
            if not c.ticker:
                fail(f"{key}.ticker", f"is missing: the metric {c.metric!r} measures one firm or index series")
            elif c.ticker in series and metric.unit != "%":
                fail(f"{key}.ticker", f"{c.ticker} is an index series: it has no market value ({c.metric!r})")
            elif c.ticker not in explicit | series and not open_ended:
                fail(f"{key}.ticker", f"{c.ticker!r} is not a firm of any group, nor a series of model.indices")
            if c.universes:
                fail(f"{key}.universes", f"the metric {c.metric!r} measures one firm (ticker), not universes")
        else:
            if not c.universes:
                fail(f"{key}.universes", f"is missing: the metric {c.metric!r} measures groups")
            if c.ticker:
                fail(f"{key}.ticker", f"the metric {c.metric!r} measures universes, not one ticker")
            for u in c.universes:
                if u not in study.groups:
                    fail(f"{key}.universes", f"unknown group {u!r}")


def with_overrides(study: Study, **changes) -> Study:
    """A copy of ``study`` with command-line overrides (``model``, ``estimation``, ``windows``),
    checked by the same pass as the study file; the overrides are recorded for the report.
    Raises :class:`StudyFileError` (naming the option) before any data is read."""
    given = {k: v for k, v in changes.items() if v is not None}
    if "windows" in given:  # Window objects or (start, end) pairs, as the core takes them
        given["windows"] = tuple(as_window(w) for w in given["windows"])
    if "estimation" in given:
        given["estimation"] = as_window(given["estimation"], "estimation")
    unknown = sorted(set(given) - {"model", "estimation", "windows"})
    if unknown:
        raise TypeError(f"with_overrides takes model, estimation and windows; not {', '.join(unknown)}")
    shown = []
    for k, v in given.items():
        if k == "windows":
            shown += [f"--window {w.start} {w.end}" for w in v]
        elif k == "estimation":
            shown.append(f"--estimation {v.start} {v.end}")
        else:
            shown.append(f"--{k} {v}")
    out = replace(study, **given, overrides=(*study.overrides, *shown))
    problems = check(out)
    if problems:
        raise StudyFileError(f"{study.path_file} with {' '.join(shown)}", problems)
    return out
