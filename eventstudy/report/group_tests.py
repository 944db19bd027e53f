"""The report's sections on the tests, shared by a study of one date and a sample: which tests
to believe here and why, the placebo, and whether one event decides an estimate."""

from __future__ import annotations

import pandas as pd

from ..core.inference import TESTS
from ..core.influence import ALPHA
from ..core.results import wide_tests
from ..core.tables import count_of

P_FORMATS = {"caar": "+.2%"}

ROBUSTNESS_NOTES = {
    "kolari-pynnonen": "Kolari & Pynnönen (2010): BMP's standardization, corrected for r̄",
    "grank": "Kolari & Pynnönen (2011): standardized ranks with the event-window SCARs rescaled",
    "calendar-time": "Jaffe (1974), Fama (1998): a portfolio per calendar session, its own dispersion",
    "portfolio": "Brown & Warner (1980, 1985): σ from the estimation window",
    "corrado-rank": "Corrado (1989); misspecified under variance increases (Cowan & Sergeant 1996)",
    "csect-t": "Brown & Warner (1985): the CARs' own dispersion, independence assumed",
    "patell": "Patell (1976): σ from the estimation window, independence assumed",
    "bmp": "Boehmer, Musumeci & Poulsen (1991): built for event-induced variance, independence assumed",
    "generalized-sign": "Cowan (1992): signs, independence assumed",
    "corrado-zivney": "Corrado & Zivney (1992): ranks after the window's SARs are re-standardized across firms",
    "patell-kp": "Kolari & Pynnönen (2010): Patell's Z corrected for r̄; σ from the estimation window",
    "permutation": "Nguyen & Wolf (2023): the portfolio's window days among all its days; exchangeable only "
    "without event-induced variance",
    "wilcoxon": "Wilcoxon (1945): signed ranks of the CARs, independence assumed",
    "skewness-t": "Hall (1992): the cross-sectional t corrected for skewed CARs, independence assumed",
}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _table(md, tests: pd.DataFrame, rows: pd.Series, caar: str = "+.2%", intervals=None) -> str:
    wide = wide_tests(tests, rows, intervals)
    return md(wide, {"caar": caar, **{c: ".4f" for c in wide.columns if c.startswith("p_")}})


def robustness_table(md, tests: pd.DataFrame) -> str:
    """What each test run here holds its size under, in this design, and why."""
    t = tests.drop_duplicates("test")
    frame = pd.DataFrame(
        {
            "test": t.test,
            "cross-correlation": [_yes(x) for x in t.robust_correlation],
            "event-induced variance": [_yes(x) for x in t.robust_variance],
            "leads here": [_yes(x) for x in t.robust],
            "why": [ROBUSTNESS_NOTES.get(x, TESTS[x].label if x in TESTS else "") for x in t.test],
        }
    )
    return md(frame)


def variance_line(tests: pd.DataFrame, window: str) -> str:
    """The measured event-induced variance: the cross-sectional variance of the SCARs per group
    (about 1 when the event leaves the variance of the returns as it was)."""
    t = tests[(tests.window == window)].drop_duplicates("group").dropna(subset=["scar_var"])
    if t.empty:
        return ""
    shown = ", ".join(f"`{g}` {v:.2f}" for g, v in zip(t.group, t.scar_var, strict=True))
    return (
        f"Event-induced variance on {window}: the cross-sectional variance of the standardized CARs is {shown} "
        "(about 1 when the event leaves the variance of the returns as it was; the tests that take their variance "
        "from the estimation window alone over-reject when it is larger)."
    )


def rbar_line(tests: pd.DataFrame) -> list[str]:
    kp = tests[tests.test == "kolari-pynnonen"].drop_duplicates("group")
    if kp.empty:
        return []
    return [
        "Average cross-correlation of the estimation residuals (Kolari–Pynnönen): "
        + ", ".join(f"`{g}` {d}" for g, d in zip(kp.group, kp.detail, strict=True))
        + ".",
        "",
    ]


def test_sections(md, result, window: str, design: str, caar: str = "+.2%", tests_file: str | None = None) -> list[str]:
    """The group tests of ``result`` (an EventStudyResult): those that hold their size here
    under cross-correlation and event-induced variance both (the lead, with the 95 % interval
    that inverts each, for returns), the measured variance, r̄, then folded the tests robust to
    one of the two and those robust to neither, and what each is robust to. ``tests_file``: None
    for the returns' tests (``results/tests.csv``, with their intervals), else the file another
    study's tests are written to (shown without intervals)."""
    returns = tests_file is None
    tests, intervals = result.tests, result.intervals if returns else None
    partly = tests.robust_correlation & ~tests.robust
    rest = ~tests.robust_correlation
    lead = (
        "the CAAR and the p-value of each, one row per group and window, with the 95 % interval that inverts the test "
        "beside it (`ci_`: the CAAR values the test does not reject; Kolari–Pynnönen's is centred on a "
        "precision-weighted mean, not on the CAAR). Statistics, distributions and what each test used: "
        "`results/tests.csv`; every interval: `results/intervals.csv`."
        if returns
        else f"the mean (`caar`) and the p-value of each, one row per group and window. Statistics, distributions and "
        f"what each test used: `{tests_file}`."
    )
    out = [
        f"The tests that hold their size here ({design}) under cross-correlation *and* event-induced variance: {lead}",
        "",
        _table(md, tests, tests.robust, caar, intervals),
        "",
    ]
    line = variance_line(tests, window)
    out += [line, ""] if line else []
    out += rbar_line(tests)
    if partly.any():
        out += [
            "<details><summary>Tests robust to cross-correlation but not to event-induced variance (they "
            "over-reject when the event raises the variance)</summary>",
            "",
            _table(md, tests, partly, caar),
            "",
            "</details>",
            "",
        ]
    if rest.any():
        out += [
            "<details><summary>Tests that assume independent events (they over-reject when the events' "
            "returns move together; for comparison)</summary>",
            "",
            "The cross-sectional t's interval (`ci_csect-t`) is narrower than Kolari–Pynnönen's by construction "
            "where the events move together: it assumes they do not.",
            "",
            _table(md, tests, rest, caar, intervals),
            "",
            "</details>",
            "",
        ]
    out += ["What each test holds its size under, in this design:", "", robustness_table(md, tests), ""]
    return out


def environment_line(result, origins) -> str:
    """Which engine computed the numbers and with what: eventstudy's and the libraries'
    versions (numbers can move in their last digits between versions), and where the prices
    came from."""
    import platform
    from importlib import metadata

    from .._version import __version__

    libs = ", ".join(f"{lib} {metadata.version(lib)}" for lib in ("numpy", "pandas", "scipy", "statsmodels"))
    counts = pd.Series(list(origins)).value_counts().sort_index()
    where = ", ".join(f"{k} ({count_of(v, 'ticker')})" for k, v in counts.items())
    return (
        f"Computed by eventstudy {__version__} with the {result.engine} engine"
        + (f" ({result.engine_reason})" if result.engine_reason else "")
        + f", on Python "
        f"{platform.python_version()} with {libs}; prices from: {where}."
    )


# --- the placebo ---------------------------------------------------------------------------------


def placebo_sizes(plac, window: str) -> str:
    """Which tests held their size under the placebo over ``window``, which over-rejected, with
    how many effective draws."""
    held, over = plac.held_in_most(window)
    return (
        f"{', '.join(held) or 'none'} held their size in at least half of the groups; "
        f"{', '.join(over) or 'none'} rejected too often in at least half (over about "
        f"{plac.effective(window):.0f} independent draws' worth on {window})."
    )


def placebo_section(plac, window: str, intro: str, figs, md) -> list[str]:
    """The report's placebo section for ``window``, after its first paragraph ``intro``."""
    trust = plac.trust(window)
    lead = plac.table[(plac.table.window == window) & plac.table.robust]
    n = plac.table.group.nunique()
    counts = ("test", "held_its_size", "over_rejects", "too_few_draws_to_tell")
    pct = {c: ".1%" for c in trust.columns if c not in counts}
    return [
        "## Placebo: how much to trust each test here",
        "",
        intro,
        "",
        f"Share of the draws in which each test rejects at 5 % on {window}, per group, and in how many of the {n} "
        "groups it *held its size* (the 95 % Clopper–Pearson interval of that share, on the effective number of "
        "draws, holds 5 % and excludes 10 %), *over-rejects* (the interval lies above 5 %), or the draws are *too "
        "few to tell* (the interval holds both 5 % and 10 %). A test of exact size can miss the interval in one "
        "group of twenty by chance.",
        "",
        md(trust, pct),
        "",
        f"The event among the placebo draws, {window}: `p_empirical` = (1 + draws with |stat| ≥ the event's) / "
        "(1 + draws), beside the test's own p (every test, group and window, at 1, 5 and 10 %, in "
        "`results/placebo.csv`):",
        "",
        md(
            lead[["group", "test", "stat", "p", "p_empirical", "reject_05", "lo_05", "hi_05", "n_eff"]],
            {"stat": ".3f", "p": ".4f", "p_empirical": ".4f", "reject_05": ".1%", "lo_05": ".1%", "hi_05": ".1%"},
        ),
        "",
        f"![Placebo statistics]({figs['placebo_statistics']})",
        "",
        f"![Placebo rejection rates]({figs['placebo_rates']})",
        "",
    ]


def dependence_sentence(plac, windows: list[tuple[str, int]]) -> str:
    """What the overlap of the draws' windows costs: their effective number per window."""
    parts = " and ".join(f"{plac.effective(label):.0f} on {label}" for label, _ in windows)
    return (
        f"Draws closer together than a window's length share some of its days, so their statistics are not "
        f"independent: the {plac.n_draws} draws are worth about as much as independent draws numbering {parts}, "
        "and the intervals below use those numbers. Pseudo-events close in time also share most of their "
        "estimation days."
    )


# --- influence -------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:+.2f} %"


def _p(x: float) -> str:
    return "–" if x != x else ("< 0.0001" if x < 0.0001 else f"{x:.4f}")


def influence_lines(influence: pd.DataFrame, flags: pd.DataFrame) -> list[str]:
    """One line per group and window whose CAAR one event decides: the estimate with and
    without it, and the event's data-quality flags if it has any."""
    drivers = influence[influence.drives] if len(influence) else influence
    if drivers.empty:
        return []
    flagged = flags.groupby("ticker").detail.first() if len(flags) else pd.Series(dtype=str)
    lines = []
    for r in drivers.itertuples():
        note = f"; its data carry a quality flag: {flagged[r.ticker]}" if r.ticker in flagged.index else ""
        lines.append(
            f"- `{r.group}`, {r.window}: without {r.event_id} (CAR {_pct(r.car)}, Cook's D {r.cooks_d:.2f}), "
            f"the CAAR is {_pct(r.caar_without)} ({r.test} p {_p(r.p_without)}) instead of {_pct(r.caar)} "
            f"(p {_p(r.p)}){note}."
        )
    return lines


def influence_section(influence: pd.DataFrame, flags: pd.DataFrame, more: list[str] | None = None) -> list[str]:
    """The report's section on influential events: what decides an estimate, by the rule, and
    where every event's diagnostics are."""
    lines = [*influence_lines(influence, flags), *(more or [])]
    head = [
        "## Does one event decide an estimate?",
        "",
        f"Each event left out in turn (ours, after Cook 1977 and Belsley, Kuh & Welsch 1980): an event is named "
        f"when removing it moves the estimate by more than its standard error, moves the lead test's p across "
        f"{100 * ALPHA:g} %, or flips the sign of an estimate significant at {100 * ALPHA:g} %. Every event's change, "
        "Cook's "
        "distance, DFBETAS and share of the sum are in `results/influence.csv` (screening marks such as "
        "D > 4/N are conventions, not verdicts).",
        "",
    ]
    return [*head, *(lines or ["No single event decides a group's estimate here."]), ""]


def placebo_trust_text(res) -> str:
    """The placebo's verdict per test, for the terminal: the 5 % rejection rates per group and
    in how many groups each test held its size."""
    from ..core.tables import text_table

    plac, window = res.placebo, res.main.windows[0].label if res.study.is_sample else "[0,0]"
    trust = plac.trust(window)
    counts = ("test", "held_its_size", "over_rejects", "too_few_draws_to_tell")
    rates = {c: ".1%" for c in trust.columns if c not in counts}
    head = (
        f"\nPlacebo: {plac.n_draws} draws (worth about {plac.effective(window):.0f} independent ones on {window}); "
        "share rejecting at 5 % per group, and in how many groups each test held its size"
    )
    return head + "\n" + text_table(trust, rates)
