"""A template's study file turned into a new study's, as ``eventstudy init`` writes it.

A study file says two kinds of things: how to measure (the model, the windows, the groups, the
benchmarks, what the report draws), which a new study starts from, and what its own event was
(its title, label and description, the claims articles made about it, the report's notes and
the claims' marks on the figures, the comment that opens the file). The second kind is left
out of a study for another event, so that nothing of the template's event reaches the new
study's report unasked: ``--with-claims`` (a variant of the same event) keeps everything.

The file is edited as text, so that its comments and layout stay the user's, and each edit is
checked by parsing: a key is removed only with exactly the lines that parse to it.
"""

from __future__ import annotations

import datetime
import json
import re
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..core.tables import count_of

# the template's text about its own event, left out of a study for another event: (table, key, as said)
OWN_EVENT = (
    ("study", "label", "label"),
    ("study", "description", "description"),
    ("report", "notes", "the report's notes"),
    ("report", "drop_mark_pct", "drop_mark_pct"),
    ("report", "marks_bn", "marks_bn"),
)
_TABLE = re.compile(r"^\s*\[")
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")


@dataclass(frozen=True)
class NewStudyText:
    """The new study's file: its text, what of the template's event was left out, and what could
    not be (written in a form this edit does not take apart: to be set by hand)."""

    text: str
    left_out: tuple[str, ...]
    not_left_out: tuple[str, ...] = ()


def new_study_text(
    text: str, name: str, template: str, same_event: bool, event_date: datetime.date | None = None
) -> NewStudyText:
    """The template's study file ``text`` for the new study ``name``: ``[study] name`` set; for
    another event (not ``same_event``) the template's text about its own event left out, the
    title set to ``name``, the event date to ``event_date`` when given, and an opening comment
    that says so. ValueError when the date cannot be set (a sample's events have their own
    dates; a variant of the same event keeps its date)."""
    text = set_key(text, "study", "name", name) or text
    table = tomllib.loads(text)
    if event_date is not None:
        if same_event:
            raise ValueError("a study of another date is another event: its claims (--with-claims) are the template's")
        if "events" in table:
            raise ValueError(f"{template} is a sample of firm-events on their own dates: its events file gives them")
        dated = set_key(text, "study", "event_date", event_date)
        if dated is None:
            raise ValueError(f"{template}'s [study] event_date is not written as a line this edit can change")
        text = dated
    if same_event:
        return NewStudyText(text, ())
    left_out, not_left_out = [], []
    for said, edit in _own_event(table, name):
        edited = edit(text)
        (left_out if edited is not None else not_left_out).append(said)
        text = text if edited is None else edited
    opening = _opening(name, template, left_out, "events" in table, event_date is not None)
    return NewStudyText(opening + _body(text), tuple(left_out), tuple(not_left_out))


def _own_event(table: dict, name: str) -> Iterator[tuple[str, Callable[[str], str | None]]]:
    """What the study file ``table`` says of its own event, each as said and its edit of the text
    (None when the edit cannot be made)."""
    claims = table.get("claims") if isinstance(table.get("claims"), list) else []
    if claims:
        yield count_of(len(claims), "claim"), _without_claims_checked
    if "title" in _table(table, "study"):
        yield "title", lambda t: set_key(t, "study", "title", name)
    for section, key, said in OWN_EVENT:
        if key in _table(table, section):
            yield said, lambda t, section=section, key=key: drop_key(t, section, key)
    windows = _table(table, "model").get("windows")
    dated = [w for w in windows if isinstance(w, dict) and isinstance(w.get("end"), str)] if windows else []
    if dated:  # a window that ends on a date ends on the template's: the rest stay, or the default windows
        rest = [w for w in windows if w not in dated]
        said = ", ".join(f"the window {w.get('label', '')!r} (it ends on {w['end']})" for w in dated)
        yield said, lambda t: set_key(t, "model", "windows", rest) if rest else drop_key(t, "model", "windows")


def _table(table: dict, section: str) -> dict:
    value = table.get(section)
    return value if isinstance(value, dict) else {}


def _without_claims_checked(text: str) -> str | None:
    edited = without_claims(text)
    return None if "claims" in tomllib.loads(edited) else edited


def _opening(name: str, template: str, left_out: list[str], sample: bool, dated: bool) -> str:
    what = (
        "sample (title, and [events] and its file)"
        if sample
        else f"event (title, {'' if dated else 'event_date, '}label)"
    )
    said = (
        f"{name}: started from {template}'s definition by `eventstudy init`. What that file said of its own "
        f"{'sample' if sample else 'event'} was left out ({', '.join(left_out) or 'nothing'}; `--with-claims` keeps "
        f"all of it): set [study] to your {what} and the groups to your firms, then `eventstudy run {name}`. To "
        'check what articles said, write [[claims]] tables as the README\'s section "Claims" describes.'
    )
    return "".join(f"# {line}\n" for line in textwrap.wrap(said, 96, break_on_hyphens=False)) + "\n"


def _body(text: str) -> str:
    """The file without the comment (and blank lines) that opens it: the template's own words."""
    lines = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), len(lines))
    return "".join(lines[first:])


def without_claims(text: str) -> str:
    """A study file's text without its ``[[claims]]`` tables."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        if line.strip() == "[[claims]]":
            inside = True
            continue
        if inside and _TABLE.match(line):
            inside = False
        if not inside:
            out.append(line)
    return "".join(out)


def drop_key(text: str, section: str, key: str) -> str | None:
    """``text`` without ``[section] key``: the fewest lines from the key's own that, removed, leave
    exactly the same file less that key; None when the key is not written that way (a dotted key,
    an inline table)."""
    span = _key_span(text, section, key)
    if span is None:
        return None
    lines, start, end, _ = span
    return "".join(lines[:start] + lines[end:])


def set_key(text: str, section: str, key: str, value: Any) -> str | None:
    """``text`` with ``[section] key`` set to ``value`` in place (its comment kept when it follows
    a one-line value); None when the key is not written as a line of ``[section]``."""
    span = _key_span(text, section, key)
    if span is None:
        return None
    lines, start, end, expected = span
    comment = re.search(r"\s+#[^\"']*$", lines[start].rstrip("\n")) if end == start + 1 else None
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    line = f"{indent}{key} = {toml_value(value)}{comment.group(0) if comment else ''}\n"
    edited = "".join(lines[:start] + [line] + lines[end:])
    expected[section] = {**expected[section], key: value}
    return edited if tomllib.loads(edited) == expected else None


def toml_value(value: Any) -> str:
    """A value as TOML writes it on one line (a string, number, boolean, date, array or table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        pairs = (f"{k if _BARE.fullmatch(k) else json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key_span(text: str, section: str, key: str) -> tuple[list[str], int, int, dict] | None:
    """The lines of ``text``, the span [start, end) that writes ``[section] key``, and what the
    text less those lines parses to (the file without the key)."""
    table = tomllib.loads(text)
    if key not in _table(table, section):
        return None
    expected = {**table, section: {k: v for k, v in table[section].items() if k != key}}
    lines = text.splitlines(keepends=True)
    inside, assignment = False, re.compile(rf"^\s*{re.escape(key)}\s*=")
    for start, line in enumerate(lines):
        header = _HEADER.match(line)
        if header or _TABLE.match(line):
            inside = bool(header) and header.group(1) == section
        elif inside and assignment.match(line):
            for end in range(start + 1, len(lines) + 1):
                if _parses_to("".join(lines[:start] + lines[end:]), expected):
                    return lines, start, end, expected
    return None


def _parses_to(text: str, expected: dict) -> bool:
    try:
        return tomllib.loads(text) == expected
    except tomllib.TOMLDecodeError:
        return False
