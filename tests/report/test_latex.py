"""The LaTeX a researcher pastes into a paper compiles, fits an article's page, and prints what it
should: every shipped ``results/tables.tex``, a study with many windows and long names, and a
result's ``summary().as_latex()`` go through pdflatex (Debian's texlive), which must report no
error, no overfull box and no float too large. Without pdflatex these are skipped, unless
``EVENTSTUDY_LATEX_TEST=required`` (as in CI) makes that a failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from eventstudy.core.tables import latex_escape
from eventstudy.report.latex import PREAMBLE, coefficient, number, p_value
from eventstudy.study.workspace import shipped_root

from ..helpers import REPO

PDFLATEX = shutil.which("pdflatex")


def _need_pdflatex() -> None:
    if PDFLATEX is None:
        if os.environ.get("EVENTSTUDY_LATEX_TEST") == "required":
            pytest.fail(
                "pdflatex is required (EVENTSTUDY_LATEX_TEST=required): apt-get install texlive-latex-recommended"
            )
        pytest.skip("no pdflatex here")


def compile_tables(body: str, folder: Path) -> str:
    """Compile ``body`` in an article with the preamble tables.tex asks for; the log."""
    doc = folder / "paper.tex"
    doc.write_text(f"\\documentclass{{article}}\n{PREAMBLE}\n\\begin{{document}}\n{body}\n\\end{{document}}\n")
    run = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (folder / "paper.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    return log


def _clean(log: str) -> None:
    bad = [ln for ln in log.splitlines() if re.search(r"Overfull \\[hv]box|Float too large|^! ", ln)]
    assert not bad, bad


@pytest.mark.parametrize("study", ["deepseek-2025", "tariff-pause-2025", "buffett-2025", "exdiv-2024"])
def test_every_shipped_tables_file_compiles_and_fits_the_page(study, tmp_path):
    _need_pdflatex()
    tex = REPO / "analyses" / study / "results" / "tables.tex"
    assert tex.read_text().startswith(f"% tables written by eventstudy; in the preamble: {PREAMBLE}")
    _clean(compile_tables(f"\\input{{{tex}}}", tmp_path))


def test_a_study_with_many_windows_and_long_names_still_fits(tmp_path):
    _need_pdflatex()
    from eventstudy.cli import main

    from ..helpers import study_file

    windows = "[[0, 0], [-1, 1], [0, 1], [0, 2], [0, 4], [-5, 5], [-10, 10], [1, 10]]"
    path = study_file(tmp_path, tickers='["NVDA", "MSFT", "AMD", "AVGO", "MU", "INTC", "TSM", "QCOM"]', extra="")
    text = path.read_text().replace("windows = [[0, 0], [-1, 1]]", f"windows = {windows}")
    text = text.replace("path = [-3, 3]", "path = [-10, 10]").replace(
        "[groups]\ng =", "[groups]\na_group_with_a_long_name ="
    )
    path.write_text(text)
    assert main(["run", str(path), "--offline", "--quiet"]) == 0
    tex = path.parent / "results" / "tables.tex"
    assert "windows 5--8 of 8" in tex.read_text()  # the en dash as LaTeX writes it
    _clean(compile_tables(f"\\input{{{tex}}}", tmp_path))


def test_a_summary_as_latex_compiles(tmp_path):
    _need_pdflatex()
    from eventstudy.core.engine import run_event_study

    from ..helpers import synthetic_panel

    res = run_event_study(*synthetic_panel(n_firms=8, seed=1), windows=[(0, 0), (-1, 1)])
    summary = res.summary()
    assert summary._repr_html_().startswith('<div class="eventstudy-summary">') and "<table>" in summary.as_html()
    assert str(summary) == summary.as_text() and "Group tests, [0,0]" in summary
    latex = summary.as_latex()
    assert r"\begin{tabular}" in latex and "<" not in latex.replace("$<$", "")
    compile_tables(f"{{\\small {latex}}}", tmp_path)


def test_cells_print_as_a_paper_would():
    assert number(-6.1, 2, "***") == "-6.10^{***}"  # math mode in a dcolumn: a true minus, marks beside
    assert p_value(3e-7) == "<0.0001" and p_value(0.04567) == "0.0457"
    assert coefficient(-0.0001716) == r"-1.72\times10^{-4}" and coefficient(-1.02968) == "-1.030"
    assert latex_escape("p < 0.01, [-1,+1], yield_band=0.5-1%") == r"p $<$ 0.01, [$-$1,+1], yield\_band=0.5-1\%"
    text = shipped_root().parent.parent / "analyses" / "deepseek-2025" / "results" / "tables.tex"
    if text.exists():  # a source checkout: the shipped file has human headers, no code slugs
        body = text.read_text()
        assert "p kolari-pynnonen" not in body and "Kolari--Pynn" in body and "0.0000" not in body
