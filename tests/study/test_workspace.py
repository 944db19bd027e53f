"""Where studies are found and where runs write: ./analyses/NAME first, then the shipped
studies; a shipped study runs from a copy under the current folder, never writing into the
package; ``init`` starts a new study from a template."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from eventstudy.cli import main
from eventstudy.errors import EventStudyError, StudyFileError
from eventstudy.study import workspace
from eventstudy.study.studyfile import load_study
from eventstudy.study.workspace import figure_folder, find_study, init_study, list_studies, working_copy

from ..helpers import study_file


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A package whose shipped studies are one small study (with an extra data file and an
    output of an earlier run), and an empty working folder."""
    root = tmp_path / "package" / "studies"
    root.mkdir(parents=True)
    path = study_file(root)
    path.parent.rename(root / "small")
    (root / "small" / "notes.csv").write_text("a,b\n1,2\n")
    (root / "small" / "make_notes.py").write_text("print('the script that writes notes.csv')\n")
    (root / "small" / "REPORT.md").write_text("an earlier report\n")
    (root / "small" / "results").mkdir()
    monkeypatch.setattr(workspace, "shipped_root", lambda: root)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return root / "small"


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_a_local_study_hides_a_shipped_one_of_the_same_name(shipped):
    assert find_study("small") == shipped / "study.toml"
    assert [(e.name, e.shipped) for e in list_studies()] == [("small", True)]
    local = init_study("small", shipped).path
    assert find_study("small") == local.resolve()
    assert [(e.name, e.shipped) for e in list_studies()] == [("small", False)]


def test_an_unknown_study_names_the_places_searched_and_the_known_ones(shipped):
    with pytest.raises(StudyFileError, match=r"no such study in \./analyses/ or the shipped ones \(known: small"):
        find_study("nonesuch")


def test_a_shipped_study_runs_from_a_copy_under_the_current_folder(shipped, capsys):
    before = _files(shipped)
    assert main(["run", "small", "--offline"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("copied the shipped study small to analyses/small/")
    assert "report: analyses/small/REPORT.md" in out
    assert _files(shipped) == before  # nothing written into the package
    local = workspace.local_root() / "small"
    assert (local / "study.toml").read_bytes() == (shipped / "study.toml").read_bytes()
    assert (local / "make_notes.py").is_file() and (local / "results" / "car.csv").is_file()
    assert "an earlier report" not in (local / "REPORT.md").read_text()
    assert "from `analyses/small/study.toml`" in (local / "REPORT.md").read_text()
    assert "](../../figures/small/ar_day0.png)" in (local / "REPORT.md").read_text()
    assert (workspace.local_root().parent / "figures" / "small" / "ar_day0.png").is_file()
    # the second run uses the copy, without copying again
    assert main(["run", "small", "--offline", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_a_shipped_study_with_out_writes_only_there(shipped, tmp_path, capsys):
    assert main(["run", "small", "--offline", "--quiet", "--out", str(tmp_path / "o")]) == 0
    assert not workspace.local_root().exists()
    assert (tmp_path / "o" / "REPORT.md").is_file() and (tmp_path / "o" / "figures" / "ar_day0.png").is_file()


def test_an_edited_copy_is_not_overwritten_by_the_shipped_study(shipped):
    local = working_copy(shipped / "study.toml")
    local.write_text(local.read_text().replace("market", "market-adjusted"))
    with pytest.raises(EventStudyError, match="differs from the shipped study small"):
        working_copy(shipped / "study.toml")
    assert "market-adjusted" in local.read_text()


def test_init_copies_the_definition_not_the_outputs_and_sets_the_name(shipped, capsys):
    assert main(["init", "mine", "--from", "small"]) == 0
    assert "wrote analyses/mine/ from small" in capsys.readouterr().out
    new = workspace.local_root() / "mine"
    assert _files(new) == ["make_notes.py", "study.toml"]  # the definition: no data file, no output
    assert load_study(new / "study.toml").name == "mine"  # the template names none: the folder's name
    assert main(["init", "mine", "--from", "small"]) == 2  # a usage error: nothing written over
    assert "analyses/mine already holds make_notes.py, study.toml: nothing was written" in capsys.readouterr().err
    assert main(["init", "Bad Name"]) == 2
    assert "must be lower case" in capsys.readouterr().err
    assert main(["init", "x", "--from", "nonesuch"]) == 2


def test_init_from_the_shipped_deepseek_study_gives_a_study_that_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = init_study("my-event").path
    assert tomllib.loads(path.read_text())["study"]["name"] == "my-event"
    s = load_study(path)
    assert s.name == "my-event" and s.title == "my-event"


def test_init_for_another_event_keeps_how_to_measure_and_leaves_out_the_templates_event(tmp_path, monkeypatch):
    """Everything the template measures survives; nothing it said of its own event (text a new
    event's report would print as its own) does."""
    monkeypatch.chdir(tmp_path)
    template = load_study(find_study("deepseek-2025"))
    done = init_study("my-event")
    new = load_study(done.path)
    assert (template.title, template.label, template.description) != ("my-event", "", "")
    assert (new.title, new.label, new.description, new.claims) == ("my-event", "", "", ())
    assert template.report.notes and template.report.drop_mark_pct and template.report.marks_bn
    assert (new.report.notes, new.report.drop_mark_pct, new.report.marks_bn) == ((), None, ())
    assert (new.report.focus, new.report.colour_groups) == (template.report.focus, template.report.colour_groups)
    for field in ("event_date", "model", "benchmark", "estimation", "path", "groups", "benchmarks"):
        assert getattr(new, field) == getattr(template, field), field
    assert new.windows == tuple(w for w in template.windows if w.label != "day 0 to 6 Feb 2025")
    text = done.path.read_text()
    assert "DeepSeek" not in text.split("[study]")[0] and "started from deepseek-2025's definition" in text
    assert done.left_out == (
        "9 claims",
        "title",
        "label",
        "description",
        "the report's notes",
        "drop_mark_pct",
        "marks_bn",
        "the window 'day 0 to 6 Feb 2025' (it ends on 2025-02-06)",
    )
    assert main(["init", "august", "--date", "2024-08-05"]) == 0  # the new event's date, set in place
    assert load_study(tmp_path / "analyses/august/study.toml").event_date == pd.Timestamp("2024-08-05")
    assert main(["init", "same", "--with-claims"]) == 0  # a variant of the same event: all of it, the name set
    source = find_study("deepseek-2025").read_text()
    assert (tmp_path / "analyses/same/study.toml").read_text() == source.replace(
        'name = "deepseek-2025"', 'name = "same"'
    )


def test_init_says_what_it_left_out_and_what_it_could_not(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t").mkdir()
    (tmp_path / "t/custom.toml").write_text(
        "# The template's own event.\n"
        'study = { title = "Its event", event_date = 2025-01-27 }\n'
        'groups = { a = ["NVDA", "AMD"] }\n[report]\nnotes = ["about its event"]\n'
    )
    assert main(["init", "mine", "--from", "t/custom.toml"]) == 0
    out, err = capsys.readouterr()
    assert "left out what t/custom.toml said of its own event: the report's notes" in out
    assert "note: study.toml still has t/custom.toml's title (written in a form init does not edit)" in err
    written = tomllib.loads((tmp_path / "analyses/mine/study.toml").read_text())  # named study.toml, run finds it
    assert written["study"]["title"] == "Its event" and "notes" not in written["report"]
    assert "The template's own event" not in (tmp_path / "analyses/mine/study.toml").read_text()
    assert main(["init", "later", "--from", "t/custom.toml", "--date", "2025-03-03"]) == 2  # an inline table
    assert "event_date is not written as a line this edit can change; nothing was written" in capsys.readouterr().err
    assert not (tmp_path / "analyses/later").exists()
    (tmp_path / "t/broken.toml").write_text("[study\ntitle = 1\n")
    assert main(["init", "other", "--from", "t/broken.toml"]) == 2
    assert "t/broken.toml is not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "analyses/other").exists()


@pytest.mark.parametrize(
    "out, figures",
    [("p/analyses/x", "p/figures/x"), ("p/x", "p/x/figures"), ("analyses", "analyses/figures")],
)
def test_figure_folder(tmp_path, out, figures):
    assert figure_folder(tmp_path / out) == tmp_path / figures


def test_init_leaves_the_templates_claims_out_unless_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = load_study(init_study("mine").path)
    assert plain.claims == () and "--with-claims" in (tmp_path / "analyses/mine/study.toml").read_text()
    assert "shared/articles" not in (tmp_path / "analyses/mine/study.toml").read_text()
    assert main(["init", "theirs", "--with-claims"]) == 0
    assert len(load_study(tmp_path / "analyses/theirs/study.toml").claims) == 9
