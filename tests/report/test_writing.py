"""The figures of a run start while its analysis goes on: the results are handed to the drawing
as soon as the main estimation is assembled (before the volume, volatility and long-horizon
designs), and what is drawn then is what the finished results draw (nothing drawn twice), so the
outputs are those written from the finished results alone, byte for byte."""

from __future__ import annotations

import pytest

from eventstudy.report import writer as report
from eventstudy.report.render import FigureWorkers
from eventstudy.study.pipeline import run_study
from eventstudy.study.studyfile import load_study

LATER = {"volume_paths", "volatility_paths", "bhar_paths"}  # the designs run after the hand-over


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["deepseek-2025", "exdiv-2024"])
def test_figures_begun_early_are_the_figures_of_the_finished_results(tmp_path, name):
    study = load_study(name)
    handed = []
    with FigureWorkers() as workers, report.Writing(report.plan_output(study, tmp_path / "a"), workers) as writing:

        def ready(partial):
            handed.append(partial)
            writing.ready(partial)

        res = run_study(study, ready=ready)
        early = [job.name for job in writing.drawing.jobs]
        writing.write(res)
        assert writing.drawing.again == []  # every figure begun early had its final inputs
    (partial,) = handed
    assert partial.volume is None and partial.volatility is None and partial.long is None
    assert res.volume is not None and (res.volatility is not None) == bool(study.volatility)
    final = {job.name for job in report._figures(res)}
    assert early and not LATER & set(early) and set(early) < final
    report.write(res, tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
