"""The report's sections on the designs beside the returns: abnormal trading volume, abnormal
volatility and long horizons."""

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
    left_out = ["Left out of the volume study:", "", md(excluded_by_reason(volume.excluded)), ""]
    if not len(volume.events):
        return ["## Abnormal trading volume", "", "No firm-event could be measured.", "", *left_out]
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
    return out + (left_out if len(volume.excluded) else [])


VOLATILITY_METHOD = (
    "U = SAR², the squared abnormal return over its prediction-error variance, is F(1, L − K) when the event "
    "leaves the model and σ as they were; U* = U (d − 2)/d has mean 1. Per firm-event and window: the mean U* and "
    "the Chow forecast F (the mean of SAR² against F(days, d), V's diagonal only: `results/volatility.csv`). Per "
    "group: `variance-ratio-t`, the mean U* against 1 with the firms' own dispersion (t(N − 1)), and on one shared "
    "date `variance-ratio-portfolio`, the group's mean U* per session in the window against the estimation "
    "window's (t(L_p − 1); cross-correlation is in the daily means). Both are ours (METHODS.md §2a): no paper "
    "gives their size, so read them with the placebo. A mean shift raises U too: read them beside the CAAR."
)


def volatility_section(md, vol, figs: dict[str, Path]) -> list[str]:
    """``## Abnormal volatility``: the method, the group tests and the figure (nothing without
    ``[volatility]``)."""
    if vol is None:
        return []
    shown = vol.tests.assign(mean_u=vol.tests.mean_u.round(3))
    out = ["## Abnormal volatility", "", VOLATILITY_METHOD, "", md(shown, {"stat": ".3f", "p": ".4f"}), ""]
    if vol.left_out:
        out += [f"Windows past the path have no daily ARs and no volatility test: {', '.join(vol.left_out)}.", ""]
    if "volatility_paths" in figs:
        out += [f"![Abnormal volatility]({figs['volatility_paths']})", ""]
    return out


LONG_METHOD = (
    "BHAR = ∏(1 + R_firm) − ∏(1 + R_{ref}) over each window's sessions (simple returns; a firm whose returns stop "
    "is held to its last one and its window said to be short; a missing return inside a firm's life leaves it "
    "without a BHAR, never a zero). Tests per group: the cross-sectional t, misspecified for skewed BHARs; the "
    "skewness-adjusted t (Johnson 1978; Lyon, Barber & Tsai 1999) and its bootstrap (1,000 resamples of N/4, "
    "seeded).{calendar}"
)
CALENDAR = (
    " `calendar-time-ew`/`-vw`: the intercept of the equal- or value-weighted portfolio of the firms in their "
    "window, regressed on the {model} factors (HC3), per session."
)


def long_section(md, long, figs: dict[str, Path]) -> list[str]:
    """``## Long horizons``: the method, the tests, the short windows and the figure (nothing
    without ``[long]``)."""
    if long is None:
        return []
    model = {"ff3": "Fama–French three", "carhart": "Carhart four"}.get(long.calendar_model, "")
    shown = long.tests.assign(estimate=[f"{100 * x:+.2f} %" if x == x else "–" for x in long.tests.estimate])
    out = [
        "## Long horizons",
        "",
        LONG_METHOD.format(ref=long.reference, calendar=CALENDAR.format(model=model) if model else ""),
        "",
        md(shown, {"stat": ".3f", "p": ".4f"}),
        "",
    ]
    short = long.bhar[long.bhar.short != ""]
    if len(short):
        out += [
            "Windows with fewer sessions than asked, or no BHAR:",
            "",
            md(short[["event_id", "window", "short"]]),
            "",
        ]
    if "bhar_paths" in figs:
        out += [f"![Long horizons]({figs['bhar_paths']})", ""]
    return out
