"""The REPORT.md of a sample of firm-events on their own dates (the sibling of
:mod:`.report_text`, which writes the report of one event date)."""

from __future__ import annotations

from pathlib import Path

from .report_text import generated_by, placebo_section, placebo_sizes
from .results import SampleResults, excluded_by_reason, wide_tests
from .study import DERIVED_CHARACTERISTICS

EXTREMES = 10
_TESTS_APART = (
    "Group tests for events on different dates: Kolari–Pynnönen with r̄_eff, the residual correlation "
    "of two events weighted by the share of window sessions they have in common (our extension of Kolari & "
    "Pynnönen 2010 to partly overlapping events; zero for events whose windows never meet), and the "
    "calendar-time portfolio test (Jaffe 1974; Mandelker 1974): the two that held their size in a simulation "
    "of partly overlapping events (README); then GRANK (Kolari & Pynnönen 2011), the portfolio and Corrado "
    "rank tests in event time, which over-reject when windows partly overlap, and the tests that assume "
    "independent events."
)
_TESTS_ONE_DATE = (
    "Every event falls on one date: the group tests are Kolari–Pynnönen, the portfolio and the Corrado "
    "rank tests, which hold their size when firms share the date, then the tests that assume independent "
    "firms."
)


def render_sample(res: SampleResults, figs: dict[str, Path], md) -> str:
    s, main = res.study, res.main
    ev = main.events
    first = main.windows[0].label
    lead = res.lead_tests()
    other = wide_tests(main.tests, robust=False)
    per_group = lead.drop_duplicates("group")[["group", "n_firms"]].rename(columns={"n_firms": "events"})
    busiest = ev.groupby("event_date").size().sort_values(ascending=False).head(5)
    out = [
        f"# {s.title} — event study of a sample",
        "",
        generated_by(s, f"`{s.path_file.name}` and `{s.events.file.name}`"),
        "",
        *([s.description, ""] if s.description else []),
        *_summary(res, md, lead, first),
        "## Sample",
        "",
        f"- {len(ev)} firm-events of {ev.ticker.nunique()} firms on {ev.event_date.nunique()} dates, "
        f"{ev.event_date.min():%Y-%m-%d} to {ev.event_date.max():%Y-%m-%d}; "
        f"{len(res.rejected)} rows of the events file rejected, {_excluded_events(res)} events excluded "
        "(both listed below).",
        f"- The busiest dates: {', '.join(f'{d:%Y-%m-%d} ({n})' for d, n in busiest.items())}.",
        f"- Estimation windows leave out the firm's other events: "
        f"{int((ev.n_removed > 0).sum())} events lost {int(ev.n_removed.sum())} estimation returns to them."
        if s.exclude_other_events
        else "- Estimation windows keep the firm's other events (`exclude_other_events = false`).",
        *(f"- Note: {n}" for n in res.notes),
        "",
        md(per_group),
        "",
        f"![Firm-events per month]({figs['events_over_time']})",
        "",
        "## Method in brief",
        "",
        f"{main.model.description}; benchmark `{s.benchmark}`; {s.returns} returns"
        + (" (the close alone: an ex-dividend day falls by about the dividend)" if s.returns == "price" else "")
        + f". Estimation window [{s.estimation.start}, {s.estimation.end}] sessions around each event's own day 0 "
        "(an event after the close, or on a day without a session, has day 0 on the next session). "
        "Var(CAR_i) = σ̂²_i (L₂ + s′(X′X)⁻¹s). "
        + (_TESTS_APART if ev.event_date.nunique() > 1 else _TESTS_ONE_DATE)
        + " Second stage: OLS of the CARs on the "
        "characteristics, HC1 standard errors, clustered by event date when dates repeat.",
        "",
        "## Group tests",
        "",
        "The tests that hold their size for this sample (CAAR and p-values):",
        "",
        md(lead, {"caar": "+.3%", **{c: ".4f" for c in lead.columns if c.startswith("p_")}}),
        "",
        "<details><summary>The other tests (they over-reject for this sample; for comparison)</summary>",
        "",
        md(other, {"caar": "+.3%", **{c: ".4f" for c in other.columns if c.startswith("p_")}}),
        "",
        "</details>",
        "",
        "Every test with its statistic, distribution and what it used: `results/tests.csv`.",
        "",
        f"![CAAR paths]({figs['caar_paths']})",
        "",
        f"![CAR distribution]({figs['car_distribution']})",
        "",
        *_placebo(res, first, figs, md),
        f"## The largest and smallest CARs {first}",
        "",
        f"The {EXTREMES} largest and {EXTREMES} smallest; every CAR is in `results/car.csv`.",
        "",
        md(
            res.extremes(first, EXTREMES)[["event_id", "ticker", "event_date", "car", "t", "p"]],
            {"car": "+.2%", "t": ".2f", "p": ".4f"},
        ),
        "",
        "## Second stage: what explains the CARs",
        "",
        *_second_stage_lines(res, md),
        "## Excluded or rejected",
        "",
        md(res.rejected) if len(res.rejected) else "No row of the events file was rejected.",
        "",
        _excluded_table(res, md),
        "",
        "## Data-quality flags",
        "",
        md(res.flags) if len(res.flags) else "None.",
        "",
        "Machine-readable results: `results/` (column guide in `results/RESULTS.md`).",
        "",
    ]
    return "\n".join(out)


def _excluded_events(res: SampleResults) -> int:
    return int(res.excluded[~res.excluded.stage.astype(str).str.startswith("window")].event_id.nunique())


def _excluded_table(res: SampleResults, md) -> str:
    if not len(res.excluded):
        return "No event was excluded."
    # "55 valid returns in the estimation window ..." and "47 valid returns ..." are one reason
    counts = excluded_by_reason(res.excluded)
    return "Events excluded, or without a CAR in a window, by reason (every one in `results/excluded.csv`):\n\n" + md(
        counts.head(20)
    )


def _summary(res: SampleResults, md, lead, first: str) -> list[str]:
    """The report's first screen: the sample, the lead tests per group in the first window,
    and what the second stage finds."""
    ev = res.main.events
    head = lead[lead.window == first].drop(columns="window")
    lines = [
        "## Summary",
        "",
        f"- **Sample:** {len(ev)} firm-events of {ev.ticker.nunique()} firms on {ev.event_date.nunique()} dates "
        f"({ev.event_date.min():%Y-%m-%d} to {ev.event_date.max():%Y-%m-%d}); {res.main.model.description}, "
        f"benchmark `{res.study.benchmark}`, {res.study.returns} returns; {len(res.rejected)} rows rejected, "
        f"{_excluded_events(res)} events excluded.",
        f"- **Lead tests per group, CAR {first}** (every window under [Group tests](#group-tests)):",
        "",
        md(head, {"caar": "+.3%", **{c: ".4f" for c in head.columns if c.startswith("p_")}}),
        "",
    ]
    stage = res.second_stage.get(first)
    if stage is not None and len(stage.table):
        terms = stage.table[stage.table.term != "const"]
        lines += [
            f"- **Second stage, CAR {first}** (n = {stage.table['n'].iloc[0]}, R² = {stage.r2:.3f}): "
            + "; ".join(f"{r.term} {r.coef:+.4g} (p {r.p:.4f})" for r in terms.itertuples())
            + " — under [Second stage](#second-stage-what-explains-the-cars).",
            "",
        ]
    return lines


def _placebo(res: SampleResults, first: str, figs, md) -> list[str]:
    plac = res.placebo
    if plac is None:
        return [
            f"How much to trust each test on this sample: `eventstudy placebo {res.study.name}` moves its events to "
            "dates without them and counts how often each test rejects.",
            "",
        ]
    intro = (
        f"The sample's design run {plac.n_draws} times (seed {plac.seed}) with its events moved to dates without "
        "them: the events of each real date move together to one random session (the sample keeps its "
        "clustering), where the windows fit in the data and stay clear of every real event of the firms moved; "
        f"{plac.dates} sessions could take a date. On {first}, " + placebo_sizes(plac, first)
    )
    return placebo_section(plac, first, intro, figs, md)


def _second_stage_lines(res: SampleResults, md) -> list[str]:
    chars = res.study.events.characteristics
    derived = "".join(f"; {c}: {DERIVED_CHARACTERISTICS[c]}" for c in chars if c in DERIVED_CHARACTERISTICS)
    lines = [
        f"CAR_i = a + b′z_i + u_i with z = {', '.join([*chars, 'beta', 'volatility'])} (beta and volatility, "
        f"σ̂ of the estimation residuals, from the first stage{derived}). Each event's market value before "
        "day 0 and the kind of share count it rests on are in `results/events.csv`.",
        "",
    ]
    for label, stage in res.second_stage.items():
        if not len(stage.table):
            lines += [f"- CAR {label}: not run ({stage.reason}).", ""]
            continue
        cov, n = stage.table["cov"].iloc[0], stage.table["n"].iloc[0]
        lines += [
            f"CAR {label}: n = {n}, R² = {stage.r2:.3f}, standard errors {cov}.",
            "",
            md(stage.table[["term", "coef", "se", "t", "p"]], {"coef": ".4g", "se": ".4g", "t": ".2f", "p": ".4f"}),
            "",
        ]
    return lines
