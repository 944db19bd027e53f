"""The edits ``init`` makes to a template's study file: a key removed with exactly its lines,
a string set in place, the comments and layout of the rest kept (each expected text written
out by hand)."""

from __future__ import annotations

import datetime

import pytest

from eventstudy.study.template import drop_key, new_study_text, set_key, without_claims

TEXT = '''# opening words about the template's event

[study]
name = "old"   # the short name
title = "Old event"
description = """
label = "not a key: a line of a string"
"""
label = "Its label"  # said in the report
event_date = 2025-01-27

[report]
focus = "NVDA"
notes = [
    "first note",   # a comment inside
    "second note",
]
# a comment of the next key
marks_bn = [600, 1000]

[[claims]]
id = "a"
metric = "rebound"

[[claims]]
id = "b"
metric = "rebound"

[groups]
named = ["NVDA"]
'''


def test_a_key_goes_with_exactly_its_lines_and_a_line_inside_a_string_is_not_a_key():
    assert drop_key(TEXT, "study", "label") == TEXT.replace('label = "Its label"  # said in the report\n', "")
    assert drop_key(TEXT, "report", "notes") == TEXT.replace(
        'notes = [\n    "first note",   # a comment inside\n    "second note",\n]\n', ""
    )
    assert drop_key(TEXT, "study", "description") == TEXT.replace(
        'description = """\nlabel = "not a key: a line of a string"\n"""\n', ""
    )
    assert drop_key(TEXT, "report", "absent") is None and drop_key(TEXT, "groups", "focus") is None


def test_a_string_is_set_in_place_with_its_comment():
    assert set_key(TEXT, "study", "name", 'new "one"') == TEXT.replace(
        'name = "old"   # the short name', 'name = "new \\"one\\""   # the short name'
    )
    assert set_key('study = { name = "old" }\n', "study", "name", "new") is None  # an inline table: not a line


def test_claims_tables_go_and_the_next_table_stays():
    assert without_claims(TEXT) == TEXT.split("[[claims]]")[0] + '[groups]\nnamed = ["NVDA"]\n'


def test_windows_that_end_on_the_templates_dates_are_left_out_and_the_others_kept():
    text = (
        '[study]\ntitle = "T"\n[model]\n'
        'windows = [[0, 0],  # day 0\n  { label = "to March", start = 0, end = "2025-03-03" },\n  [-1, 1]]\n'
    )
    made = new_study_text(text, "x", "t", same_event=False)
    assert made.text.endswith("[model]\nwindows = [[0, 0], [-1, 1]]\n")
    assert made.left_out == ("title", "the window 'to March' (it ends on 2025-03-03)")
    only = new_study_text(text.replace("[0, 0],  # day 0\n", "").replace(",\n  [-1, 1]]", "]"), "x", "t", False)
    assert only.text.endswith("[model]\n")  # no window left: the key goes, the default windows apply


def test_a_study_for_another_event_and_a_variant_of_the_same():
    other = new_study_text(TEXT, "mine", "old", same_event=False)
    assert other.left_out == ("2 claims", "title", "label", "description", "the report's notes", "marks_bn")
    assert other.not_left_out == ()
    body = other.text.split("\n\n", 1)[1]
    assert body == (
        '[study]\nname = "mine"   # the short name\ntitle = "mine"\nevent_date = 2025-01-27\n\n'
        '[report]\nfocus = "NVDA"\n# a comment of the next key\n\n[groups]\nnamed = ["NVDA"]\n'
    )
    assert other.text.startswith("# mine: started from old's definition by `eventstudy init`.")
    same = new_study_text(TEXT, "mine", "old", same_event=True)
    assert same.text == TEXT.replace('name = "old"', 'name = "mine"') and same.left_out == ()


def test_the_new_events_date_is_set_in_place_and_refused_where_it_has_no_meaning():
    made = new_study_text(TEXT, "mine", "old", same_event=False, event_date=datetime.date(2024, 8, 5))
    assert "\nevent_date = 2024-08-05\n" in made.text and "2025-01-27" not in made.text
    assert "set [study] to your event (title, label)" in " ".join(made.text.replace("# ", "").split())
    as_string = TEXT.replace("event_date = 2025-01-27", 'event_date = "2025-01-27"  # a string works too')
    made = new_study_text(as_string, "mine", "old", same_event=False, event_date=datetime.date(2024, 8, 5))
    assert "\nevent_date = 2024-08-05  # a string works too\n" in made.text
    with pytest.raises(ValueError, match="its claims \\(--with-claims\\) are the template's"):
        new_study_text(TEXT, "mine", "old", same_event=True, event_date=datetime.date(2024, 8, 5))
    sample = '[study]\ntitle = "S"\n[events]\nfile = "events.csv"\n'
    with pytest.raises(ValueError, match="a sample of firm-events on their own dates"):
        new_study_text(sample, "mine", "old", same_event=False, event_date=datetime.date(2024, 8, 5))
