"""The text of REPORT.md, rendered from a study's results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.calendar import sessions_of
from ..core.results import wide_tests
from ..core.tables import count_of, given, money_bn
from ..core.windows import DAY0
from ..study.dollars import FLAG_COLUMNS, UNVALUED
from ..study.owndata import FILE_FLAG
from ..study.results import FOCUS_LIMIT, StudyResults
from ..study.workspace import shown
from .designs import long_section, volatility_section, volume_section
from .excluded import excluded_table
from .group_tests import (
    dependence_sentence,
    environment_line,
    influence_section,
    placebo_section,
    placebo_sizes,
    test_sections,
)


def _limitations(res: StudyResults) -> list[str]:
    """Limitations computed from the run (the data's universe, the share counts used, the
    benchmark), then the study file's own notes."""
    s, out = res.study, []
    tables = [g for g, spec in s.groups.items() if spec.from_table]
    constructed = [b for b in res.sensitivity if s.benchmarks[b].constructed]
    if tables or constructed:
        used = ", ".join(f"`{x}`" for x in [*tables, *constructed])
        out.append(
            "- **Survivor bias.** The data's stock list is the 200 largest US companies of May 2026 plus some "
            f"active names: {used} miss firms that were large at the event and shrank or were delisted since."
        )
    flags = res.shares.groupby("flag").firm.apply(list) if len(res.shares) else {}
    parts = [
        f"{len(flags[f])} {f}" + (f" ({', '.join(flags[f])})" if f != "filed" and len(flags[f]) <= 8 else "")
        for f in ("filed", "filed after", "filed, undated", "implied, 2026", "none")
        if f in flags
    ]
    if parts:
        adj = res.shares.firm[res.shares.price_basis.str.startswith("adjusted")].tolist()
        out.append(
            "- **Share counts.** Market values use the latest filed count on or before the event, else the "
            f"nearest later one, else the count implied by May-2026 market values: {'; '.join(parts)} "
            "(flags per firm in `results/shares.csv`)."
            + (
                f" Valued at an adjusted close for lack of a traded one (understated by later dividends): "
                f"{', '.join(adj)}."
                if adj
                else ""
            )
        )
    out.append(
        "- **Daily data.** Pre-market and intraday paths are not seen: the open, the high, the low and the close are."
    )
    if res.main.events.event_date.nunique() == 1 and len(res.main.events) > 1:
        out.append(
            "- **Cross-correlation and event-induced variance.** All firms share one event date, and an event "
            "often raises the variance of returns: the tests that assume independent firms over-reject under the "
            "first, those that take their variance from the estimation window under the second, so the report "
            "leads with the tests robust to both (Kolari–Pynnönen, GRANK)."
        )
    bench = s.benchmarks[s.benchmark]
    if bench.ticker and res.main.model.name in ("market", "market-adjusted"):
        share = (
            f" On day −1 the study's firms held {100 * res.firms_share:.1f} % of the market value of the data's "
            "valued stocks."
            if res.firms_share == res.firms_share
            else ""
        )
        out.append(
            f"- **Benchmark.** `{bench.ticker}` is a listed series: if it holds the firms under study, part of "
            f"their own move is booked as 'the market' and their abnormal returns look smaller.{share}"
        )
    out += [f"- {note}" for note in s.report.notes]
    return out


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:+.2f} %"


def _placebo_verdict(res: StudyResults) -> str:
    if res.placebo is None:
        return (
            f"How much to trust each test on these firms in this period: `eventstudy placebo {named(res.study)}` "
            "runs the same design on dates without the event and counts how often each test rejects."
        )
    return (
        f"On these firms in this period the placebo ({res.placebo.n_draws} dates without the event, "
        "[below](#placebo-how-much-to-trust-each-test-here)) says of the tests on day 0: "
        + placebo_sizes(res.placebo, DAY0.label)
    )


def _placebo_section(res: StudyResults, figs, md) -> list[str]:
    plac = res.placebo
    if plac is None:
        return []
    dates = plac.draws.date
    s = res.study
    intro = (
        f"The study's design (its firms, groups, model, benchmark `{s.benchmark}` and windows) run again on "
        f"{plac.n_draws} pseudo-event dates from {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}, drawn without "
        f"replacement (seed {plac.seed}) from the {plac.dates} sessions where the design fits the data by the "
        f"study's own rules (at least {s.min_estimation_obs} estimation returns possible, the windows inside the "
        "data) and whose event windows stay clear of the event's (Brown & Warner 1980, 1985). "
        f"{plac.requested} draws were asked for."
        + (" The data allow no more." if plac.requested > plac.dates else "")
        + (
            " The event's own sessions (its windows and path) are left out of the pseudo-events' estimation "
            "windows, as a study leaves a firm's other events out."
            if s.exclude_other_events
            else ""
        )
        + " "
        + dependence_sentence(plac, [(w.label, w.length) for w in res.main.windows][:2])
    )
    return placebo_section(plac, DAY0.label, intro, figs, md)


def _dollar_tables(res: StudyResults, md, figs) -> list[str]:
    """Raw and abnormal changes as group × window tables, the share counts behind them and their
    figure; a sentence when no firm has a market value (and there is no figure)."""
    if not res.valued:
        return [UNVALUED, ""]
    tot = res.totals
    order = list(dict.fromkeys(tot.window))

    def wide(column: str) -> pd.DataFrame:
        table = tot.pivot_table(index="group", columns="window", values=column, sort=False, dropna=False) / 1e9
        return table[order].reset_index()

    counts = tot.drop_duplicates("group")[["group", "n_firms", *FLAG_COLUMNS, "adj_close_priced", "no_value"]]
    bn = dict.fromkeys(order, ",.1f")
    return [
        f"Raw change in market value, {res.study.currency} bn (MV at the window's end − MV before it):",
        "",
        md(wide("mv_raw"), bn),
        "",
        f"Abnormal change, {res.study.currency} bn (Σ MV_{{τ−1}}·AR_τ):",
        "",
        md(wide("mv_abnormal"), bn),
        "",
        f"The firms valued and the kind of share count each used (on {DAY0.label}; per firm in "
        "`results/shares.csv`, per window in `results/totals.csv`):",
        "",
        md(counts),
        "",
        f"![Market-value change]({figs['mv_change']})",
        "",
    ]


def _summary(res: StudyResults, md, day0: pd.DataFrame) -> list[str]:
    """The report's first screen: the event, the headline moves, each claim's verdict in one
    line, and the lead tests per group on day 0."""
    w0 = DAY0.label
    moves = ", ".join(f"{r.series} {_pct(r.ret)}" for r in res.indices.itertuples())
    focus = res.day0.loc[res.focus] if res.focus in res.day0.index else None
    ar0 = res.main.car_of(w0).car
    focus_line = (
        f"; the focus firm {res.focus} {_pct(focus.ret)} (abnormal {_pct(ar0.get(res.focus, float('nan')))}"
        + (f", {money_bn(focus.mv_change / 1e9, res.study.currency, True, 1)} of market value)" if res.valued else ")")
        if focus is not None
        else ""
    )
    ranked = day0.dropna(subset=["ret"]).sort_values(["ret", "firm"])
    falls = ", ".join(f"{r.firm} {_pct(r.ret)}" for r in ranked[ranked.ret < 0].head(3).itertuples())
    rises = ", ".join(f"{r.firm} {_pct(r.ret)}" for r in ranked[ranked.ret > 0].iloc[::-1].head(3).itertuples())
    extremes = "; ".join(
        x for x in (f"the largest falls: {falls}" if falls else "", f"the largest rises: {rises}" if rises else "") if x
    )
    lead = wide_tests(res.main.tests, res.main.tests.robust, res.main.intervals)
    lead = lead[lead.window == w0].drop(columns="window")
    claims = [
        f"  - **[{c.verdict}](#claim-{c.id})** — `{c.id}`: {c.says} — {c.reason}" for c in res.claims.itertuples()
    ]
    return [
        "## Summary",
        "",
        f"- **Event:** {_event_day(res)}; {count_of(len(res.main.events), 'firm')} fitted in "
        f"{count_of(len(res.groups), 'group')}; {res.model_text()}.",
        f"- **Day 0:** {moves}{focus_line}.",
        *(
            [f"- **Day 0 by firm** (the firms of the groups of at most {FOCUS_LIMIT} firms): {extremes}."]
            if extremes
            else []
        ),
        "- **Claims**" + (" (each verdict links to its evidence under Claims):" if claims else ": none."),
        *claims,
        *(
            [
                f"- **Placebo** ({res.placebo.n_draws} dates without the event): held their size on day 0 in at "
                f"least half of the groups: {', '.join(res.placebo.held_in_most(DAY0.label)[0]) or 'none'}; "
                f"[how much to trust each test](#placebo-how-much-to-trust-each-test-here)."
            ]
            if res.placebo is not None
            else []
        ),
        *_driver_summary(res),
        "- **Lead tests per group on day 0**, robust to cross-correlation and to event-induced variance (every "
        "window and test under [Group tests](#group-tests)):",
        "",
        md(lead, {"caar": "+.2%", **{c: ".4f" for c in lead.columns if c.startswith("p_")}}),
        "",
    ]


def _driver_summary(res: StudyResults) -> list[str]:
    n = int(res.main.influence.drives.sum()) if len(res.main.influence) else 0
    if not n:
        return []
    return [
        f"- **One event decides an estimate** in {n} group and window(s): "
        "[which, and the estimate without it](#does-one-event-decide-an-estimate)."
    ]


def _event_day(res: StudyResults, bold: str = "") -> str:
    """Day 0's date, and the study's label when it has one."""
    label = res.study.label
    return f"{bold}{res.event.date:%A %d %B %Y}{bold}" + (f" — {label}" if label else "")


def named(study) -> str:
    """The study as a command finds this file: by its name when its folder bears it, else by the
    file (a study folder copied by hand keeps the template's name, which would run the template)."""
    return study.name if study.path_file.parent.name == study.name else shown(study.path_file)


def generated_by(study, sources: str) -> str:
    """The report's second line: the command that wrote it and the files it read."""
    overrides = "".join(f" {o}" for o in study.overrides)
    return f"*Generated by `python -m eventstudy run {named(study)}{overrides}` from {sources}; do not edit.*"


def _model_line(res: StudyResults) -> str:
    s = res.study
    return (
        f"- Model: {res.model_text()}; estimation window [{s.estimation.start}, {s.estimation.end}] "
        f"{sessions_of(s.exchange)}; at least {s.min_estimation_obs} valid returns."
    )


def render(res: StudyResults, figs: dict[str, Path], md) -> str:
    s, w0 = res.study, DAY0.label
    firms = list(res.focus_firms())
    day0 = res.day0.loc[firms].join(res.main.car_of(w0)[["t", "p"]]).rename_axis("firm").reset_index()
    day0 = day0.sort_values(["ret", "firm"]).reset_index(drop=True)
    day0 = day0.assign(mv_change=day0.mv_change / 1e9, mv_abnormal=day0.mv_abnormal / 1e9)
    out = [
        f"# {s.title} — event study",
        "",
        generated_by(s, f"`{shown(s.path_file)}`"),
        "",
        *_summary(res, md, day0),
        "## Event",
        "",
        f"- Day 0: {_event_day(res, '**')}.",
        _model_line(res),
        f"- Windows: {', '.join(w.label for w in res.main.windows)}; the daily path [{s.path.start}, {s.path.end}].",
        f"- Firms fitted: {len(res.main.events)}; groups: "
        + ", ".join(f"`{g}` ({len(f)})" for g, f in res.groups.items()),
        *(f"- Note: {n}" for n in res.notes),
        *([f"- Command-line overrides: {' '.join(s.overrides)}"] if s.overrides else []),
        "",
        "## Claims",
        "",
        md(
            res.claims.assign(id=[f'<span id="claim-{c}">{c}</span>' for c in res.claims.id])[
                ["id", "verdict", "says", "window", "computed", "reason", "article"]
            ]
        )
        if len(res.claims)
        else "The study file states no claims.",
        "",
        "## Data and provenance",
        "",
        *(
            own_data_lines(md, s, res.provenance, res.shares["flag"])
            if s.own_data
            else [
                "Prices come from the committed snapshot `eventstudy/data/snapshot/` (real Yahoo-derived data; every "
                "file's sha256 is in its `MANIFEST` and checked on load; sources in its `SOURCES-*.md`), or from the "
                "cache or yfinance for what it lacks. Returns are "
                + (
                    "total returns from traded closes and dividends, (close_t + dividend_t) / close_{t−1} − 1"
                    if s.returns == "total"
                    else "price returns, close_t / close_{t−1} − 1"
                )
                + "; market values are traded close × shares outstanding on one split basis. Where each ticker "
                "came from: `results/provenance.csv`.",
                "",
            ]
        ),
        environment_line(res.main, series_origins(res.provenance)),
        "",
        "## Method in brief",
        "",
        "AR_iτ = R_iτ − X_iτ θ̂_i with θ̂_i from OLS on the estimation window; Var(CAR_i) = σ̂²_i (L₂ + s′(X′X)⁻¹s), "
        "the prediction-error covariance summed over the window (Campbell, Lo & MacKinlay 1997, ch. 4); t with "
        "L_i − K degrees of freedom. Group tests: Kolari–Pynnönen (2010) adjusted BMP and GRANK (Kolari & "
        "Pynnönen 2011), robust to cross-correlation and to event-induced variance; the portfolio test (Brown & "
        "Warner 1980) and the cumulated Corrado (1989) rank test, robust to the first only; the cross-sectional t, "
        "Patell (1976), BMP (1991) and Cowan's (1992) generalized sign test, which assume independent firms. "
        "Dollars: raw change = MV at the window's end − MV before it; abnormal change = Σ MV_{τ−1}·AR_τ.",
        "",
        "## Day-0 moves",
        "",
        md(res.indices.assign(ret=[_pct(x) for x in res.indices.ret])),
        "",
        md(
            given(day0[["firm", "ret", "low_ret", "open_gap", "ar", "t", "p", "mv_change", "mv_abnormal"]]).rename(
                columns={"mv_change": "mv_change_bn", "mv_abnormal": "mv_abnormal_bn"}
            ),
            {
                "ret": "+.2%",
                "low_ret": "+.2%",
                "open_gap": "+.2%",
                "ar": "+.2%",
                "t": ".2f",
                "p": ".4f",
                "mv_change_bn": ",.1f",
                "mv_abnormal_bn": ",.1f",
            },
        ),
        "",
        f"![Day-0 abnormal returns]({figs['ar_day0']})",
        "",
        *([f"![{res.focus} price path]({figs['price_path']})", ""] if "price_path" in figs else []),
        "## Group tests",
        "",
        *test_sections(md, res.main, DAY0.label, "every firm shares one event date"),
        _placebo_verdict(res),
        "",
        f"![CAAR paths]({figs['caar_paths']})",
        "",
        f"![CAAR intervals]({figs['caar_intervals']})",
        "",
        f"![Estimation fit]({figs['estimation_fit']})",
        "",
        *influence_section(res.main.influence, res.flags),
        *volume_section(md, res.volume, figs, "every firm shares one event date"),
        *volatility_section(md, res.volatility, figs),
        *long_section(md, res.long, figs),
        *_placebo_section(res, figs, md),
        "## Dollar effects by universe",
        "",
        *_dollar_tables(res, md, figs),
    ]
    out += _sensitivity(res, figs, md, firms, w0)
    out += [
        "## Excluded or incomplete",
        "",
        excluded_table(res.excluded, md, len(res.main.events)),
        "",
        "## Data-quality flags",
        "",
        "Price series that may not be what they seem: a close not adjusted for a split (it parts from the "
        "adjusted close, or moves on a recorded split day, by the split's ratio), a move by a split ratio "
        "overnight well beyond the firm's usual moves (a real move can match: compare with another source), "
        f"or a stretch of at least {s.quality.no_trading_days} sessions without trading. "
        + (
            f"Firms with a flag of kind {', '.join(s.quality.exclude)} are excluded (`[quality] exclude`)."
            if s.quality.exclude
            else "They are kept; `[quality] exclude` in the study file excludes them."
        ),
        "",
        md(
            res.flags.assign(
                first=res.flags["first"].dt.strftime("%Y-%m-%d"), last=res.flags["last"].dt.strftime("%Y-%m-%d")
            )
        )
        if len(res.flags)
        else "None.",
        "",
        "## Limitations",
        "",
        *_limitations(res),
        "",
        "Machine-readable results: `results/` (column guide in `results/RESULTS.md`).",
        "",
    ]
    return "\n".join(out)


def _constructed_lines(res: StudyResults) -> list[str]:
    lines = []
    for name, info in res.constructed.items():
        n = info.days.n_firms[info.days.n_firms > 0]
        lines.append(
            f"- `{name}`: {info.weights}-weighted, {len(info.members)} stocks of the data (one listing per issuer, "
            f"no ETFs) minus the groups {', '.join(f'`{g}`' for g in info.excluded_groups) or 'none'}; "
            f"{int(n.min())}–{int(n.max())} members a day (a stock without a return that day drops out); "
            f"left out for lack of a share count: {', '.join(info.no_weight) or 'none'}."
        )
    return lines


def _sensitivity(res: StudyResults, figs, md, firms, w0) -> list[str]:
    if len(res.sensitivity) < 2:
        return []
    bench = list(res.sensitivity)
    table = pd.DataFrame({b: r.car_of(w0).car.reindex(firms) for b, r in res.sensitivity.items()})
    table["difference"] = table[bench[1]] - table[bench[0]]
    kp = pd.concat(
        r.tests[(r.tests.window == w0) & (r.tests.test == "kolari-pynnonen")].assign(benchmark=b)
        for b, r in res.sensitivity.items()
    )
    moves = res.indices.set_index("series").ret
    gap = moves.get(bench[1], float("nan")) - moves.get(bench[0], float("nan"))
    moved = (
        f"On day 0 `{bench[1]}` moved {_pct(gap)} relative to `{bench[0]}`. "
        if gap == gap
        else f"On day 0 one of `{bench[0]}` and `{bench[1]}` has no return (see the notes). "
    )
    return [
        "## Sensitivity: which benchmark",
        "",
        f"The study is run again with each benchmark as the market R_m of the {res.main.model.name} model:",
        "",
        *_constructed_lines(res),
        "",
        md(res.indices.assign(ret=[_pct(x) for x in res.indices.ret])),
        "",
        moved + "A benchmark that holds the firms under study books part of their own move as 'the market', "
        "so their abnormal returns look smaller against it. An index built without them removes that overlap, "
        "but it carries whatever moved between those firms and the rest of the market that day. Neither column "
        "isolates a firm's own move; the difference column shows how much the choice of benchmark matters.",
        "",
        "Day-0 abnormal return by firm under each benchmark (%; the difference in percentage points):",
        "",
        md(table.rename_axis("firm").reset_index(), {c: "+.2%" for c in [*bench, "difference"]}),
        "",
        "Group CAARs with the Kolari–Pynnönen test under each benchmark:",
        "",
        md(kp[["benchmark", "group", "caar", "stat", "p", "n_firms"]], {"caar": "+.2%", "stat": ".3f", "p": ".4f"}),
        "",
        f"![AR by benchmark]({figs['ar_by_benchmark']})",
        "",
    ]


def own_data_lines(md, study, provenance: pd.DataFrame, share_flags: pd.Series) -> list[str]:
    """The paragraph and table on a study's own files: what was read, the calendar, where market
    values come from (``share_flags``: each firm's or firm-event's share basis; none may have
    one), each file's size, rows and sha256 (``results/provenance.csv`` has them per series)."""
    d = study.data
    files = provenance.drop_duplicates("file")[["file", "role", "bytes", "rows", "sha256"]]
    return [
        f"The data are the study's own files ([data] of the study file): returns from `{d.returns.name}` "
        f"({d.units}; CRSP's missing-return codes made missing"
        + (f"; delisting returns from `{d.delisting.name}` compounded into the last return" if d.delisting else "")
        + "), "
        + (f"market series from `{d.market.name}`, " if d.market else "")
        + ("factors from " + ", ".join(f"`{f.name}`" for f in d.factors) if d.factors else "the shipped factors")
        + f"; sessions are counted as {sessions_of(study.exchange)} (calendar {d.calendar}). "
        + (
            "Market values are |price| × shares of the returns file on the session before day 0"
            if (share_flags == FILE_FLAG).any()
            else "There are no market values (the returns file gives no price and shares on the session before "
            "day 0), so nothing is in money"
        )
        + ". Each file as read (sha256 over its bytes):",
        "",
        md(files),
        "",
    ]


def series_origins(provenance: pd.DataFrame) -> pd.Series:
    """Where each series came from (a study's own files add rows for files without a series)."""
    return provenance.origin[provenance.ticker.astype(str) != ""]
