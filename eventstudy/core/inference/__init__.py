"""Tests of the cumulative average abnormal return (CAAR) of a group of firm-events.

Every test takes a :class:`Sample` (one group, one window) and returns a
:class:`TestStatistic`, or an :class:`InvalidTestStatistic` with its reason when it cannot be
computed. ``TESTS`` (here, with what each test is robust to) lists them with the tests that
hold their size under cross-sectional correlation (one shared event date) first:
Kolari–Pynnönen, the portfolio test, the rank test.

By family: :mod:`.statistic` (what a test returns and reads), :mod:`.sample` (a group's
firm-events in one window), :mod:`.parametric` (t, Patell and its Kolari–Pynnönen adjustment,
BMP, Kolari–Pynnönen, portfolio, calendar time, the skewness-corrected t), :mod:`.rank` (Corrado,
Corrado–Zivney, generalized sign, GRANK, Wilcoxon), :mod:`.resampling` (the permutation test),
:mod:`.rbar` (cross-sectional dependence: r̄ and r̄_eff).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .parametric import bmp, calendar_time, csect_t, kolari_pynnonen, patell, patell_kp, portfolio, skewness_t
from .rank import corrado_rank, corrado_zivney, generalized_sign, grank, wilcoxon
from .resampling import permutation
from .statistic import InvalidTestStatistic, Summary, TestStatistic


@dataclass(frozen=True)
class TestSpec:
    """A test and what it is robust to, as the literature and our simulations say:

    - ``correlation``: it holds its size when the firms share one event date (cross-correlated
      residuals; Kolari & Pynnönen 2010, Brown & Warner 1985, Corrado 1989);
    - ``correlation_apart``: also when events on different dates partly overlap
      (``benchmarks/size_samples.py``: the event-time portfolio, rank and GRANK tests then
      over-reject, as their estimation-window variance mixes calendar days that the event
      windows do not);
    - ``variance``: it holds its size when the event raises the variance of the returns
      (event-induced variance: Boehmer, Musumeci & Poulsen 1991; Corrado & Zivney 1992 and
      Cowan & Sergeant 1996 for the rank test's failure; Kolari & Pynnönen 2010, 2011;
      ``benchmarks/size_variance.py``): the tests that scale by the cross-sectional dispersion
      of the event-window values, or by their signs, do; those that take the variance from the
      estimation window alone (Patell, the portfolio and the Corrado rank test) do not.

    A test that holds its size under both leads the report (``robust``)."""

    name: str
    func: Callable[[Summary], TestStatistic | InvalidTestStatistic]
    correlation: bool
    label: str
    correlation_apart: bool = False
    variance: bool = False

    def robustness(self, apart: bool) -> tuple[bool, bool, bool]:
        """(robust to both, to cross-correlation, to event-induced variance) for a sample of one
        date (``apart`` False) or of events on different dates."""
        correlation = self.correlation_apart if apart else self.correlation
        return correlation and self.variance, correlation, self.variance


TESTS: dict[str, TestSpec] = {
    t.name: t
    for t in (
        TestSpec("kolari-pynnonen", kolari_pynnonen, True, "Kolari–Pynnönen adj. BMP", True, True),
        TestSpec("grank", grank, True, "GRANK (Kolari–Pynnönen 2011)", False, True),
        TestSpec("calendar-time", calendar_time, True, "calendar-time portfolio", True, True),
        TestSpec("portfolio", portfolio, True, "portfolio (crude dependence)"),
        TestSpec("corrado-zivney", corrado_zivney, True, "Corrado–Zivney rank (re-standardized)", False, True),
        TestSpec("patell-kp", patell_kp, True, "Patell Z, Kolari–Pynnönen adj.", True),
        TestSpec("permutation", permutation, True, "permutation of the portfolio's days"),
        TestSpec("corrado-rank", corrado_rank, True, "Corrado rank (cumulated)"),
        TestSpec("csect-t", csect_t, False, "cross-sectional t", False, True),
        TestSpec("patell", patell, False, "Patell Z"),
        TestSpec("bmp", bmp, False, "Boehmer–Musumeci–Poulsen", False, True),
        TestSpec("generalized-sign", generalized_sign, False, "Cowan generalized sign", False, True),
        TestSpec("wilcoxon", wilcoxon, False, "Wilcoxon signed-rank", False, True),
        TestSpec("skewness-t", skewness_t, False, "skewness-corrected t (Hall)", False, True),
    )
}
# the tests the streamed core does not compute (it keeps sums, not each firm's ARs): their rows
# say so, and the in-memory engine computes them
MEMORY_ONLY = frozenset({"corrado-zivney"})
# the tests that read r̄ (the streamed core's r̄ of events on different dates is an estimate)
READ_RBAR = frozenset({"kolari-pynnonen", "patell-kp"})
# the tests of a sample whose events share one date (the calendar-time portfolio is for events
# on different dates: on one date its sessions are the window's own few)
ONE_DATE_TESTS = [n for n in TESTS if n != "calendar-time"]
TEST_COLUMNS = [
    "group",
    "window",
    "test",
    "stat",
    "p",
    "dist",
    "n_firms",
    "robust",
    "robust_correlation",
    "robust_variance",
    "caar",
    "scar_var",
    "rbar",
    "detail",
]


def test_row(group: str, window: str, spec: TestSpec, s: Summary, apart: bool) -> tuple:
    """One row of the tests table (:data:`TEST_COLUMNS`) for ``spec`` on ``s``: the statistic, its
    robustness in this design, the CAAR and the cross-sectional variance of the SCARs (about 1
    when the event leaves the variance as it was)."""
    r: TestStatistic | InvalidTestStatistic = spec.func(s)
    caar = s.car_mean if s.n else np.nan
    scar_var = s.scar_sd**2 if s.n > 1 else np.nan
    rbar = float(s.rbar) if s.n > 1 else np.nan
    robust = spec.robustness(apart)
    return (group, window, spec.name, r.stat, r.pvalue, r.dist, r.n, *robust, caar, scar_var, rbar, r.detail)


def get_tests(names: list[str] | None = None) -> list[TestSpec]:
    if names is None:
        return list(TESTS.values())
    unknown = sorted(set(names) - set(TESTS))
    if unknown:
        raise ValueError(f"unknown test(s) {unknown}; choose from {sorted(TESTS)}")
    return [TESTS[n] for n in names]
