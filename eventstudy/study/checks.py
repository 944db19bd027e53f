"""Every cross-reference, type and range of a study (claims, windows, groups, benchmarks, focus,
samples), as one list of problems, checked on every study whether read from a file, changed on
the command line (with_overrides) or built in Python, before anything is read or allocated."""

from __future__ import annotations

import math
import re
from dataclasses import replace

from ..core.calendar import as_dates, roll_event_date
from ..core.models import MODELS
from ..core.windows import as_window, event_grid
from ..data.quality import KINDS as QUALITY_KINDS
from ..errors import CalendarError, StudyFileError
from .claims.context import DIRECTIONS
from .claims.metrics import METRICS
from .claims.rules import RULES
from .spec import GROUP_TABLES, IDENTIFIER, MAX_SESSIONS, RETURNS, TICKER, GroupSpec, Study
from .workspace import NAME


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
        if not _series_name(study).fullmatch(t):
            fail("model.indices", f"{t!r} is not a ticker")
    _check_claims(study, fail, explicit, open_ended)
    rep = study.report
    if not study.is_sample:  # a sample draws none of one date's figures: _check_sample refuses their keys
        if rep.focus and rep.focus not in explicit and not open_ended:
            fail("report.focus", f"{rep.focus!r} is not a firm of any group")
        for g in rep.colour_groups:
            if g not in study.groups:
                fail("report.colour_groups", f"unknown group {g!r}")
    for key, values in (("drop_mark_pct", [rep.drop_mark_pct]), ("marks_bn", rep.marks_bn)):
        if any(v is not None and not math.isfinite(v) for v in values):
            fail(f"report.{key}", "must be finite numbers")
    if study.returns not in RETURNS:
        fail("model.returns", f"must be one of {', '.join(RETURNS)}, got {study.returns!r}")
    if study.is_sample:
        _check_sample(study, fail)
    if study.own_data:
        _check_own_data(study, fail)
    if study.long is not None:
        _check_long(study, fail)
    q = study.quality
    if not isinstance(q.no_trading_days, int) or q.no_trading_days < 2:
        fail("quality.no_trading_days", f"must be a number of sessions of at least 2, got {q.no_trading_days!r}")
    for kind in q.exclude:
        if kind not in QUALITY_KINDS:
            fail("quality.exclude", f"unknown kind of flag {kind!r} (known: {', '.join(QUALITY_KINDS)})")
    return problems


# a market file's column (vwretd, sprtrn, ...) names a series of a study on its own data
SERIES = re.compile(r"[A-Za-z0-9^][A-Za-z0-9_.=^-]{0,39}")


def _series_name(study: Study) -> re.Pattern:
    return SERIES if study.own_data else TICKER


def _check_own_data(study: Study, fail) -> None:
    """What a study on its own files ([data]) cannot have: the snapshot's tables, price returns."""
    for name, g in study.groups.items():
        if g.from_table:
            fail(f"groups.{name}.from_table", "a study on its own data ([data]) lists its firms (tickers or ids)")
    cal = study.data.calendar
    if (cal == "data") != study.exchange.startswith("data:") or (cal != "data" and study.exchange != cal):
        fail("data.calendar", f"is {cal!r} but the study counts sessions on {study.exchange!r}: set both alike")
    if study.returns != "total":
        fail("model.returns", 'a study on its own data ([data]) reads the file\'s return column: returns = "total"')


def _too_far(w) -> str:
    """Why window ``w`` reaches too far from day 0 ("" when it does not)."""
    if max(abs(w.start), abs(w.end)) > MAX_SESSIONS:
        return f"[{w.start}, {w.end}] reaches more than {MAX_SESSIONS} sessions (ten years) from day 0"
    return ""


def _check_long(study: Study, fail) -> None:
    for i, w in enumerate(study.long.windows):
        if why := _too_far(w):
            fail(f"long.windows[{i}]", why)
    if study.is_sample and study.long.reference != study.benchmark:
        fail("long.reference", f"a sample's long-horizon reference is its benchmark ({study.benchmark})")


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
    rep = study.report
    one_date = {
        "focus": rep.focus,
        "drop_mark_pct": rep.drop_mark_pct,
        "marks_bn": rep.marks_bn,
        "colour_groups": rep.colour_groups,
    }
    for key, value in one_date.items():
        if value is not None and (not hasattr(value, "__len__") or len(value)):
            fail(
                f"report.{key}",
                "belongs to the figures of one event date (a focus firm's prices, the firms' market values, "
                "coloured by group); a sample ([events]) draws none: remove it (report.notes is read)",
            )


def _check_windows(study: Study, fail, partial: bool) -> None:
    if study.event_date is None and not study.is_sample:
        return
    if study.event_date is not None:
        day = study.event_date
        try:
            as_dates([day], "the event date")  # a Study built in Python: 01/02/2025 is not guessed
        except TypeError:
            fail("study.event_date", f"must be a date (a date, a Timestamp or YYYY-MM-DD text), got {day!r}")
            return
        except ValueError:
            fail("study.event_date", f"must be a date without a time of day or time zone, got {day!r}")
            return
    try:
        if study.event_date is not None:
            roll_event_date(study.event_date, study.exchange)
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
        if why := _too_far(w):
            fail(key, why)
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
            if study.own_data and not t.startswith("^"):
                if not IDENTIFIER.fullmatch(t):
                    fail(
                        f"groups.{name}.tickers",
                        f"{t!r} is not an identifier (1 to 40 characters, no '|', '#' or spaces around them)",
                    )
            elif not TICKER.fullmatch(t):
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
            if not _series_name(study).fullmatch(b.ticker):
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
        if metric.unit == "USD bn" and study.currency != "USD":
            fail(
                f"{key}.metric",
                f"{c.metric!r} checks figures in USD bn; this study's market values are in {study.currency} "
                "([data] currency): a claim in money cannot be checked here",
            )
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
