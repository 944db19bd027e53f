"""The report's sections on the designs beside the returns: abnormal trading volume."""

from __future__ import annotations

from pathlib import Path

from ..core.results import excluded_by_reason
from .group_tests import test_sections

VOLUME_METHOD = (
    "Log turnover v = ln(100 · volume / shares outstanding + 0.000255) (Campbell & Wasley 1996; the constant keeps "
    "a session without trades finite); the market's v is the equal-weighted mean over the data's stocks that "
    "traded that session. Abnormal volume AV = v − the {model} fitted on the estimation window; CAV sums AV over "
    "a window, with the prediction-error variance and the group tests of the returns (r̄ from the volume "
    "residuals). AV and CAV are in log points: 0.69 is a doubling of the usual turnover."
)


def volume_section(md, volume, figs: dict[str, Path], design: str) -> list[str]:
    """``## Abnormal trading volume``: the method, the group tests on CAV and the figure (nothing
    without ``[volume]``)."""
    if volume is None:
        return []
    model = "market model on the market's log turnover" if volume.model.name == "market" else "firm's mean"
    out = [
        "## Abnormal trading volume",
        "",
        VOLUME_METHOD.format(model=model),
        "Per firm-event: `results/volume_car.csv`; tests: `results/volume_tests.csv`; fits: `results/volume_fit.csv`.",
        "",
        *test_sections(md, volume, volume.windows[0].label, design, caar="+.3f", tests_file="results/volume_tests.csv"),
    ]
    if "volume_paths" in figs:
        out += [f"![Abnormal trading volume]({figs['volume_paths']})", ""]
    if len(volume.excluded):
        out += ["Left out of the volume study:", "", md(excluded_by_reason(volume.excluded)), ""]
    return out
