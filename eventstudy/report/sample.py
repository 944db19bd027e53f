"""The REPORT.md of a sample of firm-events on their own dates (the sibling of
:mod:`.report_text`, which writes the report of one event date)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.results import excluded_by_reason
from ..core.tables import count_of
from ..study.results import SampleResults, outright
from ..study.spec import DERIVED_CHARACTERISTICS
from .designs import long_section, volatility_section, volume_section
from .group_tests import (
    dependence_sentence,
    environment_line,
    influence_section,
    placebo_section,
    placebo_sizes,
    test_sections,
)
from .text import generated_by, named, own_data_lines, series_origins

EXTREMES = 10
_TESTS_APART = (
    "Group tests for events on different dates: Kolari–Pynnönen with r̄_eff, the residual correlation "
    "of two events weighted by the share of window sessions they have in common (our extension of Kolari & "
    "Pynnönen 2010 to partly overlapping events; zero for events whose windows never meet), and the "
    "calendar-time portfolio test (Jaffe 1974; Mandelker 1974): the two that held their size in a simulation "
    "of partly overlapping events (README) and that scale by the event windows' own dispersion; then GRANK "
    "(Kolari & Pynnönen 2011), the portfolio and Corrado rank tests in event time, which over-reject when "
    "windows partly overlap, and the tests that assume independent events."
)
_TESTS_ONE_DATE = (
    "Every event falls on one date: the group tests lead with Kolari–Pynnönen and GRANK, which hold their size "
    "under cross-correlation and event-induced variance, then the portfolio and Corrado rank tests (robust to "
    "the first only) and the tests that assume independent firms."
)


def render_sample(res: SampleResults, figs: dict[str, Path], md) -> str:
    s, main = res.study, res.main
    ev = main.events
    first = main.windows[0].label
    lead = res.lead_tests()
    apart = ev.event_date.nunique() > 1
    per_group = lead.drop_duplicates("group")[["group", "n_firms"]].rename(columns={"n_firms": "events"})
    counts = ev.groupby("event_date").size().rename("n").reset_index()
    busiest = counts.sort_values(["n", "event_date"], ascending=[False, True]).head(5)
    out = [
        f"# {s.title} — event study of a sample",
        "",
        generated_by(s, f"`{s.path_file.name}` and `{s.events.file.name}`"),
        "",
        *([s.description, ""] if s.description else []),
        *_summary(res, md, lead, first),
        "## Sample",
        "",
        f"- {_extent(ev)}, {_span(ev)}; {count_of(len(res.rejected), 'row')} of the events file rejected, "
        f"{count_of(len(outright(res.excluded)), 'event')} excluded (both listed below).",
        f"- The busiest dates: {', '.join(f'{r.event_date:%Y-%m-%d} ({r.n})' for r in busiest.itertuples())}.",
        _left_out_for_others(ev)
        if s.exclude_other_events
        else "- Estimation windows keep the firm's other events (`exclude_other_events = false`).",
        *(f"- Note: {n}" for n in (*res.notes, *s.report.notes)),  # the run's, then the study file's
        "",
        md(per_group),
        "",
        f"![Firm-events per month]({figs['events_over_time']})",
        "",
        "## Method in brief",
        "",
        f"{res.model_text()}; {s.returns} returns"
        + (" (the close alone: an ex-dividend day falls by about the dividend)" if s.returns == "price" else "")
        + f". Estimation window [{s.estimation.start}, {s.estimation.end}] sessions around each event's own day 0 "
        "(an event after the close, or on a day without a session, has day 0 on the next session). "
        "Var(CAR_i) = σ̂²_i (L₂ + s′(X′X)⁻¹s). "
        + (_TESTS_APART if apart else _TESTS_ONE_DATE)
        + " Second stage: OLS of the CARs on the characteristics, HC1 standard errors with t(n − K) p-values "
        "(HC3 beside them), clustered by event date with t(G − 1) when dates repeat.",
        "",
        *(own_data_lines(md, s, res.provenance, res.events["shares_flag"]) if s.own_data else []),
        environment_line(main, series_origins(res.provenance)),
        "",
        "## Group tests",
        "",
        *test_sections(
            md,
            main,
            first,
            "the events fall on different dates" if apart else "every event falls on one date",
            caar="+.3%",
        ),
        f"![CAAR paths]({figs['caar_paths']})",
        "",
        f"![CAAR intervals]({figs['caar_intervals']})",
        "",
        f"![CAR distribution]({figs['car_distribution']})",
        "",
        *influence_section(main.influence, res.flags, _stage_drivers(res)),
        *volume_section(md, res.volume, figs, "firm-events on their own dates"),
        *volatility_section(md, res.volatility, figs),
        *long_section(md, res.long, figs),
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


def _left_out_for_others(ev: pd.DataFrame) -> str:
    """The line on the estimation returns the firms' other events took (none: said so)."""
    lost = int((ev.n_removed > 0).sum())
    said = (
        f"{count_of(lost, 'event')} lost {count_of(int(ev.n_removed.sum()), 'estimation return')} to them"
        if lost
        else "no event's estimation window held one"
    )
    return f"- Estimation windows leave out the firm's other events: {said}."


def _extent(ev: pd.DataFrame) -> str:
    """ "7 firm-events of 4 firms on 7 dates"."""
    return (
        f"{count_of(len(ev), 'firm-event')} of {count_of(ev.ticker.nunique(), 'firm')} on "
        f"{count_of(ev.event_date.nunique(), 'date')}"
    )


def _span(ev: pd.DataFrame) -> str:
    return f"{ev.event_date.min():%Y-%m-%d} to {ev.event_date.max():%Y-%m-%d}"


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
        f"- **Sample:** {_extent(ev)} ({_span(ev)}); {res.model_text()}; {res.study.returns} returns; "
        f"{count_of(len(res.rejected), 'row')} rejected, {count_of(len(outright(res.excluded)), 'event')} excluded.",
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
            f"How much to trust each test on this sample: `eventstudy placebo {named(res.study)}` moves its events to "
            "dates without them and counts how often each test rejects.",
            "",
        ]
    windows = [(w.label, w.length) for w in res.main.windows][:2]
    intro = (
        f"The sample's design run {plac.n_draws} times (seed {plac.seed}) with the whole sample moved in calendar "
        "time: every event shifted by one number of sessions, drawn without replacement from the "
        f"{plac.dates} shifts that keep each event's windows clear of its own, around the {plac.ring} sessions where "
        "a pseudo-event fits the study's rules (the latest wrap to the earliest). The sample keeps its spread of "
        "dates, its clustering and its overlapping windows, and no firm ever has two events on one day. "
        f"On average {plac.set_aside:.1f} of its {len(res.main.events)} events were set aside per draw (their moved "
        "windows touched another real event of the firm)."
        + (
            " The firms' real events are left out of the pseudo-events' estimation windows, as the study leaves a "
            "firm's other events out."
            if res.study.exclude_other_events
            else ""
        )
        + " "
        + dependence_sentence(plac, windows)
        + f" On {first}, "
        + placebo_sizes(plac, first)
    )
    return placebo_section(plac, first, intro, figs, md)


def _stage_drivers(res: SampleResults) -> list[str]:
    """The second stage's coefficients that one event (or date) decides, with the estimate
    without it."""
    events = res.main.events.set_index("event_id")
    car = res.main.car
    flagged = res.flags.groupby("ticker").detail.first() if len(res.flags) else pd.Series(dtype=str)
    lines = []
    for label, stage in res.second_stage.items():
        cars = car[car.window == label].set_index("event_id").car
        for r in stage.drivers().itertuples():
            unit = str(r.left_out)
            if r.events > 1 or unit not in events.index:  # a date with every event on it
                on = events[events.event_date.dt.strftime("%Y-%m-%d") == unit].index
                top = list(cars.reindex(sorted(on)).abs().sort_values(ascending=False, kind="stable").index[:3])
                named = ", ".join(f"{e} (CAR {100 * cars[e]:+.1f} %)" for e in top)
                some = "the event" if r.events == 1 else f"the {r.events} events"
                what = f"{some} of {unit}{': ' if r.events <= len(top) else ', among them '}{named}"
            else:
                top = [unit]
                what = f"{unit} (CAR {100 * cars.get(unit, float('nan')):+.1f} %)"
            tickers = dict.fromkeys(events.ticker[e] for e in top)
            notes = "".join(f" {t}'s data carry a quality flag: {flagged[t]}." for t in tickers if t in flagged.index)
            lines.append(
                f"- Second stage, CAR {label}, `{r.term}`: without {what}, the coefficient is {r.coef_without:+.4g} "
                f"(p {_p(r.p_without)}) instead of {r.coef:+.4g} (p {_p(r.p)}); Cook's D {r.cooks_d:.2f}.{notes}"
            )
    return lines


def _p(x: float) -> str:
    return "–" if x != x else ("< 0.0001" if x < 0.0001 else f"{x:.4f}")


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
        hc3 = stage.table["se_hc3"].notna().any()
        columns = ["term", "coef", "se", "t", "p", *(["se_hc3", "p_hc3"] if hc3 else [])]
        lines += [
            f"CAR {label}: n = {n}, R² = {stage.r2:.3f}, standard errors {cov}"
            + (" (HC3 beside them)." if hc3 else "."),
            "",
            md(
                stage.table[columns],
                {"coef": ".4g", "se": ".4g", "t": ".2f", "p": ".4f", "se_hc3": ".4g", "p_hc3": ".4f"},
            ),
            "",
        ]
    return lines
