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

from ..core.calendar import EXCHANGE
from ..core.windows import Window
from ..data.files.table import other_separator, spreadsheet
from ..data.quality import QualitySpec
from ..errors import StudyFileError
from .checks import check
from .claims.metrics import FALL_ALIASES
from .claims.rules import RULE_FALL_ALIASES
from .designtables import read_data, read_long, read_volatility, read_volume
from .events import REQUIRED as REQUIRED_EVENT_COLUMNS
from .events import RESERVED as RESERVED_EVENT_COLUMNS
from .events import named_columns
from .reader import BAD, Reader, read_date, read_window
from .spec import DERIVED_CHARACTERISTICS, BenchmarkSpec, ClaimSpec, EventsSpec, GroupSpec, ReportSpec, Study
from .workspace import find_study

GROUP_KEYS = {"tickers", "union", "from_table", "within"}


def _groups(r: Reader) -> dict[str, GroupSpec]:
    out = {}
    for name, value in r.data.items():
        if isinstance(value, list):
            value = {"tickers": value}
        if not isinstance(value, dict):
            r.fail(name, f"must be a list of tickers or a table, got {value!r}")
            value = {}
        g = Reader(r.problems, value, f"{r.prefix}{name}.")
        g.unknown(GROUP_KEYS)
        out[name] = GroupSpec(
            name, g.strings("tickers"), g.strings("union"), g.get("from_table", str, ""), g.get("within", str, "")
        )
    return out


def _claims(r: Reader, items: list) -> tuple[ClaimSpec, ...]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            r.fail(f"claims[{i}]", "must be a table ([[claims]])")
            continue
        c = Reader(r.problems, item, f"claims[{i}].")
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


def _with_aliases(spec: ClaimSpec, c: Reader) -> ClaimSpec:
    """Earlier metric and rule names (``mv_loss``, ``all_fell``, ...) mean a fall."""
    metric, rule = FALL_ALIASES.get(spec.metric, spec.metric), RULE_FALL_ALIASES.get(spec.rule, spec.rule)
    if (metric, rule) != (spec.metric, spec.rule) and spec.direction != "fall":
        c.fail("direction", f"{spec.metric!r}/{spec.rule!r} describe a fall; use {metric!r}/{rule!r} for a rise")
    return replace(spec, metric=metric, rule=rule)


def _benchmarks(r: Reader) -> dict[str, BenchmarkSpec]:
    out = {}
    for name in r.data:
        b = r.table(name)
        b.unknown({"ticker", "weights", "exclude"})
        out[name] = BenchmarkSpec(name, b.get("ticker", str, ""), b.get("weights", str, ""), b.strings("exclude"))
    return out


def _report(r: Reader) -> ReportSpec:
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


def _events(r: Reader, study_file: Path) -> EventsSpec | None:
    """``[events]``: the table must exist beside the study file (a path that leaves the study's
    folder is refused, and no content of a file is ever echoed) and have the columns the study
    names."""
    r.unknown({"file", "group_by", "characteristics", "date_format", "columns"})
    name = r.get("file", str)
    date_format = r.get("date_format", str, "")
    if date_format and "%" not in date_format:
        r.fail("date_format", f'must be a strftime format such as "%d/%m/%Y", got {date_format!r}')
    c = r.table("columns", required=False)  # the file's own names of ticker, date, time, event_id
    columns = {role: column for role in c.data if (column := c.get(role, str)) is not BAD}
    spec = EventsSpec(Path(), r.strings("group_by"), r.strings("characteristics"), date_format, columns)
    if name is BAD:
        return spec
    folder = study_file.parent.resolve()
    file = (study_file.parent / name).resolve()
    if folder not in file.parents:
        r.fail("file", f"{name} leaves the study's folder: an events file lies beside study.toml (or below it)")
        return replace(spec, file=file)
    if said := spreadsheet(file, "a CSV file"):
        r.fail("file", f"{name} {said}")
        return replace(spec, file=file)
    try:
        header = pd.read_csv(file, nrows=0).columns
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
        r.fail("file", f"{name} cannot be read as a CSV table ({why})")
        return replace(spec, file=file)
    if separator := other_separator(header):
        r.fail("file", f"{name}: {separator}")
        return replace(spec, file=file)
    try:
        renames = named_columns(header, spec.columns)
        header = pd.Index([renames.get(str(c), c) for c in header])
    except ValueError as exc:
        r.fail("columns", f"{name}: {exc}")
        return replace(spec, file=file)
    for key, columns in (
        ("file", REQUIRED_EVENT_COLUMNS),
        ("group_by", spec.group_by),
        ("characteristics", [c for c in spec.characteristics if c not in DERIVED_CHARACTERISTICS]),
    ):
        for c in columns:
            if c not in header:
                hint = f'; or name it in [events.columns]: {c} = "<its column>"' if key == "file" else ""
                r.fail(key, f"{name} has no column {c!r} (columns: {', '.join(map(str, header[:20]))}){hint}")
    for c in sorted(set(header) & set(DERIVED_CHARACTERISTICS)):
        r.fail("file", f"{name} has a column {c!r}, the name of a characteristic eventstudy computes: rename it")
    for c in [c for c in RESERVED_EVENT_COLUMNS if c in header]:
        r.fail("file", f"{name} has a column {c!r}, a name eventstudy writes for each event: rename it")
    return replace(spec, file=file)


def _quality(r: Reader) -> QualitySpec:
    r.unknown({"no_trading_days", "exclude"})
    return QualitySpec(r.get("no_trading_days", int, QualitySpec.no_trading_days), r.strings("exclude"))


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (Windows' Notepad writes one) is no TOML
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
    top = Reader(problems, _read(path))
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
    event = None if event_value in (BAD, None) else read_date(s, "event_date", event_value)
    data, exchange = read_data(top.table("data"), path) if "data" in top.data else (None, EXCHANGE)
    dates: dict[str, str] = {}
    given = m.get("windows", list, [[0, 0], [-1, 1], [0, 1], [0, 4], [-5, 5]])
    windows = tuple(w for i, v in enumerate(given) if (w := read_window(m, f"windows[{i}]", v, event, dates, exchange)))
    partial = len(windows) != len(given)  # a window that could not be read: its problem is listed
    estimation = read_window(m, "estimation", m.get("estimation", list, [-250, -11]), event, dates, exchange)
    path_window = read_window(m, "path", m.get("path", list, [-10, 10]), event, dates, exchange)
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
        volume=read_volume(top.table("volume")) if "volume" in top.data else None,
        volatility=read_volatility(top.table("volatility")) if "volatility" in top.data else False,
        long=read_long(top.table("long"), benchmarks, benchmark) if "long" in top.data else None,
    )
    said = {f for f, _ in problems}  # a field's problem once: not again as the cross-checks meet its default
    problems += [(f, why) for f, why in check(study, partial=partial) if f not in said]
    if problems:
        raise StudyFileError(path, problems)
    return study


# model.thin_trading → the model that corrects for it
THIN_TRADING = {"dimson": "dimson", "scholes-williams": "scholes-williams", "trade-to-trade": "trade-to-trade"}


def _thin_trading(m: Reader, name: str) -> str:
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


def _claim_windows(claims: tuple[ClaimSpec, ...], windows: tuple[Window, ...], top: Reader) -> tuple[ClaimSpec, ...]:
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
