"""Study definitions: a TOML file under ``analyses/<name>/study.toml``, validated once.

Every error names the file and the field. See ``analyses/deepseek-2025/study.toml`` for a
complete, commented example; the README explains each field.
"""

from __future__ import annotations

import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .calendar import offset_of
from .claims import METRICS, RULES
from .errors import StudyFileError
from .models import MODELS
from .windows import Window, event_grid

ANALYSES_DIR = Path(__file__).resolve().parent.parent / "analyses"
GROUP_KEYS = {"tickers", "union", "from_table", "within"}
BENCHMARK_KEYS = {"exclude", "weights", "universe"}


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
    """One checkable claim: the article's figure, the metric computed, and the wording rule."""

    id: str
    article: str
    title: str
    says: str
    metric: str
    rule: str
    figure: float | None = None
    unit: str = ""
    ticker: str = ""
    universes: tuple[str, ...] = ()
    window: str = ""


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
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path_file.parent


def list_studies(root: Path = ANALYSES_DIR) -> list[Path]:
    return sorted(root.glob("*/study.toml"))


def find_study(name_or_path: str | Path, root: Path = ANALYSES_DIR) -> Path:
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "study.toml"
    if path.is_file():
        return path.resolve()
    candidate = root / str(name_or_path) / "study.toml"
    if candidate.is_file():
        return candidate
    known = ", ".join(p.parent.name for p in list_studies(root)) or "none"
    raise StudyFileError(name_or_path, "name", f"no such study (known studies: {known}; or give a path)")


class _Reader:
    """Typed access to one TOML table; errors name the file and the dotted field."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def fail(self, key: str, why: str) -> StudyFileError:
        return StudyFileError(self.path, f"{self.prefix}{key}", why)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is missing")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"must be {names}, got {type(value).__name__} {value!r}")
        return value

    def table(self, key: str, default: Any = ...) -> _Reader:
        return _Reader(self.path, self.get(key, dict, default if default is ... else {}), f"{self.prefix}{key}.")

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise self.fail(extra[0], f"is not a known field (known: {', '.join(sorted(allowed))})")


def _window(r: _Reader, key: str, value: Any, event: pd.Timestamp, dates: dict[str, str]) -> Window:
    if isinstance(value, dict):
        w = _Reader(r.path, value, f"{r.prefix}{key}.")
        w.unknown({"label", "start", "end"})
        end = w.get("end", (int, str))
        if isinstance(end, str):
            dates[w.get("label", str)] = end
            end = offset_of(event, end)
        return Window(w.get("start", int), end, w.get("label", str))
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise r.fail(key, f"must be [start, end] in sessions, got {value!r}")
    try:
        return Window(*value)
    except ValueError as exc:
        raise r.fail(key, str(exc)) from None


def _groups(r: _Reader) -> dict[str, GroupSpec]:
    out = {}
    for name, value in r.data.items():
        if isinstance(value, list):
            value = {"tickers": value}
        g = _Reader(r.path, value if isinstance(value, dict) else {"?": value}, f"{r.prefix}{name}.")
        g.unknown(GROUP_KEYS)
        out[name] = GroupSpec(
            name,
            tuple(g.get("tickers", list, [])),
            tuple(g.get("union", list, [])),
            g.get("from_table", str, ""),
            g.get("within", str, ""),
        )
    for name, spec in out.items():
        for ref in (*spec.union, *([spec.within] if spec.within else [])):
            if ref not in out:
                raise r.fail(name, f"refers to unknown group {ref!r}")
    return out


def _claims(r: _Reader, items: list, groups: dict[str, GroupSpec]) -> tuple[ClaimSpec, ...]:
    out = []
    for i, item in enumerate(items):
        c = _Reader(r.path, item, f"claims[{i}].")
        c.unknown({f.name for f in ClaimSpec.__dataclass_fields__.values()})
        spec = ClaimSpec(
            id=c.get("id", str),
            article=c.get("article", str),
            title=c.get("title", str),
            says=c.get("says", str),
            metric=c.get("metric", str),
            rule=c.get("rule", str),
            figure=c.get("figure", (int, float), None),
            unit=c.get("unit", str, ""),
            ticker=c.get("ticker", str, ""),
            universes=tuple(c.get("universes", list, [])),
            window=c.get("window", str, ""),
        )
        if spec.metric not in METRICS:
            raise c.fail("metric", f"unknown metric {spec.metric!r} (known: {', '.join(sorted(METRICS))})")
        if spec.rule not in RULES:
            raise c.fail("rule", f"unknown rule {spec.rule!r} (known: {', '.join(sorted(RULES))})")
        for u in spec.universes:
            if u not in groups:
                raise c.fail("universes", f"unknown group {u!r}")
        out.append(spec)
    return tuple(out)


def _benchmarks(r: _Reader, groups: dict[str, GroupSpec]) -> dict[str, BenchmarkSpec]:
    out = {}
    for name in r.data:
        b = r.table(name)
        b.unknown({"ticker", "weights", "exclude"})
        spec = BenchmarkSpec(
            name, b.get("ticker", str, ""), b.get("weights", str, ""), tuple(b.get("exclude", list, []))
        )
        if spec.constructed and spec.weights not in ("value", "equal"):
            raise b.fail("weights", f"must be 'value' or 'equal' for a constructed index, got {spec.weights!r}")
        for g in spec.exclude:
            if g not in groups:
                raise b.fail("exclude", f"unknown group {g!r} (known: {', '.join(sorted(groups))})")
        out[name] = spec
    return out


def load_study(name_or_path: str | Path) -> Study:
    """Read and validate a study file (a name under ``analyses/`` or a path)."""
    path = find_study(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(path, "(syntax)", str(exc)) from None
    top = _Reader(path, data)
    top.unknown({"study", "model", "groups", "claims", "benchmarks", "report"})
    s, m = top.table("study"), top.table("model")
    s.unknown({"name", "title", "event_date", "label", "description"})
    m.unknown({"name", "benchmark", "estimation", "windows", "path", "min_estimation_obs", "indices", "sensitivity"})
    try:
        event = pd.Timestamp(s.get("event_date", (str, datetime.date)))
    except ValueError as exc:
        raise s.fail("event_date", f"is not a date ({exc})") from None
    model = m.get("name", str, "market")
    if model not in MODELS:
        raise m.fail("name", f"unknown model {model!r} (known: {', '.join(sorted(MODELS))})")
    groups = _groups(top.table("groups"))
    benchmarks = _benchmarks(top.table("benchmarks", {}), groups)
    benchmark = m.get("benchmark", str, "SPY")
    benchmarks.setdefault(benchmark, BenchmarkSpec(benchmark, ticker=benchmark))
    sensitivity = tuple(m.get("sensitivity", list, []))
    for b in sensitivity:
        if b not in benchmarks:
            raise m.fail("sensitivity", f"unknown benchmark {b!r} (define it under [benchmarks])")
    dates: dict[str, str] = {}
    windows = tuple(
        _window(m, f"windows[{i}]", w, event, dates)
        for i, w in enumerate(m.get("windows", list, [[0, 0], [-1, 1], [0, 1], [0, 4], [-5, 5]]))
    )
    estimation = _window(m, "estimation", m.get("estimation", list, [-250, -11]), event, dates)
    path_window = _window(m, "path", m.get("path", list, [-10, 10]), event, dates)
    try:
        event_grid(estimation, windows, path_window)
    except ValueError as exc:
        raise m.fail("windows", str(exc)) from None
    return Study(
        name=s.get("name", str, path.parent.name),
        title=s.get("title", str),
        event_date=event,
        label=s.get("label", str, ""),
        model=model,
        benchmark=benchmark,
        estimation=estimation,
        windows=windows,
        path=path_window,
        min_estimation_obs=m.get("min_estimation_obs", int, 120),
        groups=groups,
        claims=_claims(top, top.get("claims", list, []), groups),
        indices=tuple(m.get("indices", list, [])),
        benchmarks=benchmarks,
        sensitivity=sensitivity,
        path_file=path,
        description=s.get("description", str, ""),
        window_dates=dates,
        report=_report(top.table("report", {}), groups),
    )


def _report(r: _Reader, groups: dict[str, GroupSpec]) -> dict[str, Any]:
    r.unknown({"focus", "drop_mark_pct", "marks_bn", "colour_groups"})
    colour = r.get("colour_groups", list, [])
    for g in colour:
        if g not in groups:
            raise r.fail("colour_groups", f"unknown group {g!r}")
    return {
        "colour_groups": colour,
        "focus": r.get("focus", str, ""),
        "drop_mark_pct": r.get("drop_mark_pct", (int, float), None),
        "marks_bn": r.get("marks_bn", list, []),
    }
