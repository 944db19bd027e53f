"""Writes a study's report: REPORT.md, tidy CSV results with a column guide, and figures.

Output is deterministic: figures carry no timestamps or versions, CSVs fixed precision.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.tables import markdown_table
from ..core.windows import DAY0
from ..study.results import SampleResults, StudyResults
from ..study.workspace import default_out, figure_folder, working_copy
from .html import html_page, with_images
from .latex import write_latex_tables
from .outputs import OutputSet, check_writable
from .render import DEFAULT_STYLE, Drawing, FigureJob, FigureStyle, FigureWorkers

COLUMNS = {
    "day0.csv": "firm; prev_close, open, high, low, close (USD); ret (day-0 total return); low_ret, high_ret, "
    "open_gap (vs the previous close); close_vs_low, close_vs_high; ar (abnormal return); mv_prev, mv_change, "
    "mv_change_at_low, mv_change_at_high, mv_abnormal (USD)",
    "car.csv": "benchmark, event_id, ticker, window, car, se (prediction-error), t, p (t with dof), dof, "
    "n_est, n_missing, ci_lo, ci_hi (the 95 % interval: car ± t(dof) se)",
    "intervals.csv": "group, window, test (csect-t: CAAR ± t(N-1) s/sqrt(N); kolari-pynnonen: the inverted "
    "Kolari-Pynnonen test), n, estimate (the CAAR), lo, hi, centre (where the test's statistic is 0: a "
    "precision-weighted mean for Kolari-Pynnonen), level, note (unbounded: no finite interval at this level)",
    "fit.csv": "event_id, ticker, event_date, n_est, n_removed, sigma (the residuals' standard deviation), the "
    "model's parameters (alpha, beta or the factor loadings)",
    "caar.csv": "group, day, aar, caar, se (of the CAAR, from the portfolio's estimation-window variance), lo, hi "
    "(the portfolio test's 95 % interval)",
    "tests.csv": "benchmark, group, window, test, stat, p, dist, n_firms, robust (holds under cross-correlation), "
    "caar, detail (r̄ of Kolari–Pynnönen, the days the Corrado ranks cover, or why a test was not computed)",
    "ar_path.csv": "benchmark, event_id, ticker, day, date, ar, se, sar, car (cumulated from the path start)",
    "effects.csv": "firm, window, ret (compounded), car, mv_raw, mv_abnormal (USD)",
    "totals.csv": "group, window, mv_raw, mv_abnormal (USD), n_firms, filed, filed_after, filed_undated, "
    "implied_2026 (firms per share-count flag), adj_close_priced, no_value",
    "shares.csv": "firm, shares, flag (filed / filed after / filed, undated / implied, 2026 / none), classes, "
    "price_basis",
    "claims.csv": "id, article, says, window (the span judged), computed, verdict, reason",
    "excluded.csv": "ticker, stage (universe, quality, data, estimation, ...), reason",
    "volume_car.csv": "with [volume]: the abnormal log turnover (AV) of each firm-event cumulated over each window "
    "(CAV, in the car column), with the columns of car.csv (no benchmark column)",
    "volume_tests.csv": "with [volume]: the group tests on CAV, with the columns of tests.csv (no benchmark column)",
    "volume_fit.csv": "with [volume]: each firm-event's volume model (alpha, beta on the market's log turnover, or "
    "the mean), sigma, n_est",
    "volatility.csv": "with [volatility]: event_id, ticker, window, days, dof (L - K), u_star (the mean over the "
    "window of U* = SAR² (d - 2)/d: 1 when the variance is as before), chow_f (the mean of SAR²), p_chow (against "
    "F(days, dof); V's diagonal only)",
    "volatility_tests.csv": "with [volatility]: group, window, test (variance-ratio-t across firms; "
    "variance-ratio-portfolio on one date), stat, p, dist, n_firms, mean_u (the mean U*), detail",
    "bhar.csv": "with [long]: event_id, ticker, window, bhar (the firm's buy-and-hold return less the reference's), "
    "firm_bh, reference_bh, sessions (used), short (why fewer sessions than the window's: the data end, the "
    "firm's returns stop, or a missing return inside the window: no BHAR)",
    "long_tests.csv": "with [long]: group, window, test (bhar-t, skewness-adjusted-t, skewness-adjusted-bootstrap, "
    "calendar-time-ew, calendar-time-vw), stat, p, dist, n (BHARs, or calendar sessions), estimate (the mean BHAR, "
    "or the calendar-time alpha per session), detail",
    "flags.csv": "ticker, kind (split_jump: a close not adjusted for a split, or a move by a split ratio beyond "
    "the firm's usual moves; no_trading: a stretch without volume or price; non_trading_days, under a thin-trading "
    "model: the firm's sessions without a trade), first, last (dates), detail",
    "provenance.csv": "ticker, origin (snapshot / cache / yfinance / file NAME), return_basis; a study on its own "
    "files adds file, role, bytes, rows, sha256 (and a row per file without a series: names, delisting, factors)",
    "benchmark_days.csv": "benchmark, date, ret (constructed index return), n_firms (members that day)",
    "influence.csv": "group, window, event_id, ticker, car, caar, caar_without (the CAAR without the event), delta "
    "(caar - caar_without), se (the CAAR's s/sqrt(N)), cooks_d, dfbetas, share (of the sum of CARs), test (the lead "
    "test), p, p_without (recomputed without the event where it could decide the result; empty elsewhere), drives "
    "(the event moves the CAAR by more than its se, moves p across 5 % or flips a significant sign)",
    "tables.tex": "LaTeX (booktabs): the CAR of each firm of the smaller groups by window, and the group CAARs "
    "with the robust tests",
    "placebo.csv": "(after `eventstudy placebo`) group, window, test, robust, n_draws, reject_01/05/10 (share of "
    "placebo draws rejecting at 1/5/10 %) with lo_/hi_ (95 % Clopper-Pearson interval), stat and p (the event's), "
    "p_empirical ((1 + #|placebo stat| >= |stat|) / (1 + draws))",
    "placebo_draws.csv": "draw, date (the pseudo-event), group, window, test, robust, stat, p, n_firms (full "
    "precision); placebo.json: what they were made from (fingerprint, draws, seed, dates available) and the "
    "draws file's sha256",
}


def _csv(frame: pd.DataFrame, path: Path) -> None:
    """Fixed precision; a missing or non-finite number is an empty cell, never 'nan' or 'inf'."""
    frame.replace([np.inf, -np.inf], np.nan).to_csv(path, index=False, float_format="%.10g", lineterminator="\n")


def _long(results: StudyResults, attr: str) -> pd.DataFrame:
    return pd.concat([getattr(r, attr).assign(benchmark=b) for b, r in results.sensitivity.items()], ignore_index=True)


def study_frames(results: StudyResults) -> dict[str, pd.DataFrame]:
    """The tables of a study of one date, by file name (the results folder's CSVs)."""
    frames = {
        "day0.csv": results.day0.reset_index(),
        "car.csv": _long(results, "car"),
        "tests.csv": _long(results, "tests"),
        "ar_path.csv": _long(results, "ar"),
        "influence.csv": results.main.influence,
        "intervals.csv": results.main.intervals,
        "fit.csv": results.main.events,
        "caar.csv": results.main.caar,
        **{
            f"{name}.csv": getattr(results, name)
            for name in ("effects", "totals", "shares", "claims", "excluded", "provenance", "flags")
        },
    }
    if results.constructed:
        days = pd.concat({b: c.days for b, c in results.constructed.items()}, names=["benchmark", "date"])
        frames["benchmark_days.csv"] = days.reset_index()
    return frames | design_frames(results)


def design_frames(results) -> dict[str, pd.DataFrame]:
    """The tables of the designs beside the returns: abnormal volume, abnormal volatility (none
    when the study has neither)."""
    out = {}
    if results.volume is not None:
        v = results.volume
        out |= {"volume_car.csv": v.car, "volume_tests.csv": v.tests, "volume_fit.csv": v.events}
    if results.volatility is not None:
        out |= {"volatility.csv": results.volatility.events, "volatility_tests.csv": results.volatility.tests}
    if results.long is not None:
        out |= {"bhar.csv": results.long.bhar, "long_tests.csv": results.long.tests}
    return out


def write_results(results: StudyResults | SampleResults, out: Path, exports: tuple[str, ...] = ()) -> None:
    """Every table as CSV (with the column guide), the placebo's files, and the tables in each
    of ``exports`` (``xlsx``: one workbook, a sheet a table; ``dta``: a Stata file a table)."""
    out.mkdir(parents=True, exist_ok=True)
    sample = isinstance(results, SampleResults)
    frames = sample_frames(results) if sample else study_frames(results)
    if results.placebo is not None:
        from ..study.placebo import TABLE, save

        save(results.placebo, out)
        frames[TABLE] = results.placebo.table
    for name, frame in frames.items():
        _csv(frame, out / name)
    _guide(out, SAMPLE_COLUMNS if sample else COLUMNS, results.study.currency)
    if exports:
        from .exports import write_exports

        write_exports(frames, out, exports)


def _placebo_jobs(results: StudyResults | SampleResults, w: str) -> list[FigureJob]:
    """The placebo's figures for window ``w`` (the one its report section shows): each lead
    test's placebo statistics with the event's, and every test's rejection rates."""
    if results.placebo is None:
        return []
    plac, groups = results.placebo, list(results.main.groups)[:8]
    tests = results.main.tests
    lead = list(dict.fromkeys(tests.test[tests.robust]))
    return [
        FigureJob(
            "placebo_statistics",
            "placebo_statistics",
            (plac.draws[plac.draws.window == w], tests[tests.window == w], lead, groups),
        ),
        FigureJob("placebo_rates", "placebo_rates", (plac.table[plac.table.window == w], groups)),
    ]


def _guide(out: Path, columns: dict[str, str], currency: str) -> None:
    """``RESULTS.md``: what each file's columns hold, money in the study's ``currency``."""
    guide = ["# Results: column guide", "", f"Money in {currency}, returns as decimals (0.01 = 1 %).", ""]
    guide += [f"- `{k}`: {v.replace('USD', currency)}" for k, v in columns.items()]
    (out / "RESULTS.md").write_text("\n".join(guide) + "\n")


SAMPLE_COLUMNS = {
    "events.csv": "event_id, ticker, event_date (day 0), given_date, time, note (how day 0 was set), the events "
    "file's other columns, market_value_bn (the firm's market value at the close before day 0, USD bn), "
    "shares_flag (its share count: filed / filed after / filed, undated / implied, 2026 / no share count), quality "
    "(the firm's data-quality flags, empty when none)",
    "rejected.csv": "row (of the events file, from 1), event_id, ticker, reason",
    "fit.csv": "event_id, ticker, event_date, n_est, n_removed (estimation returns left out: the firm's other "
    "events), sigma, the model's parameters",
    "car.csv": COLUMNS["car.csv"],
    "tests.csv": COLUMNS["tests.csv"] + "; r̄_eff for events on different dates, the calendar sessions of the "
    "calendar-time test",
    "ar_path.csv": COLUMNS["ar_path.csv"],
    "caar.csv": COLUMNS["caar.csv"],
    "intervals.csv": COLUMNS["intervals.csv"],
    "second_stage.csv": "window, term, coef, se, t, p (t with n - K, or G - 1 when clustered), n, cov (HC1, or "
    "clustered by event date), se_hc3, p_hc3 (HC3, when not clustered)",
    "second_stage_influence.csv": "window, left_out (an event, or a date with every event on it when clustered), "
    "events, term, coef, coef_without, se, p, p_without, cooks_d, drives: the events or dates that could decide a "
    "coefficient, and the largest by Cook's distance",
    "influence.csv": COLUMNS["influence.csv"],
    "excluded.csv": "event_id, ticker, stage (events, benchmark, data, quality, align, estimation, window ...), reason",
    "flags.csv": COLUMNS["flags.csv"],
    "provenance.csv": COLUMNS["provenance.csv"],
    "tables.tex": "LaTeX (booktabs): the group CAARs with the robust tests, and the second stage",
    "volume_car.csv": COLUMNS["volume_car.csv"],
    "volume_tests.csv": COLUMNS["volume_tests.csv"],
    "volume_fit.csv": COLUMNS["volume_fit.csv"],
    "volatility.csv": COLUMNS["volatility.csv"],
    "volatility_tests.csv": COLUMNS["volatility_tests.csv"],
    "bhar.csv": COLUMNS["bhar.csv"],
    "long_tests.csv": COLUMNS["long_tests.csv"],
    "placebo.csv": COLUMNS["placebo.csv"],
    "placebo_draws.csv": COLUMNS["placebo_draws.csv"].replace("date (the pseudo-event)", "date (empty: many)"),
}


def sample_frames(results: SampleResults) -> dict[str, pd.DataFrame]:
    """The tables of a sample, by file name (the results folder's CSVs)."""
    stages = results.second_stage.values()
    return {
        "events.csv": results.events,
        "rejected.csv": results.rejected,
        "fit.csv": results.main.events,
        "car.csv": results.main.car,
        "tests.csv": results.main.tests,
        "ar_path.csv": results.main.ar,
        "caar.csv": results.main.caar,
        "intervals.csv": results.main.intervals,
        "second_stage.csv": pd.concat([st.table for st in stages], ignore_index=True),
        "second_stage_influence.csv": pd.concat([st.influence for st in stages], ignore_index=True),
        "influence.csv": results.main.influence,
        "excluded.csv": results.excluded,
        "flags.csv": results.flags,
        "provenance.csv": results.provenance,
    } | design_frames(results)


def sample_figures(results: SampleResults) -> list[FigureJob]:
    main = results.main
    small = [g for g in main.groups if len(main.groups[g]) > 0][:8]
    return [
        FigureJob("events_over_time", "events_over_time", (main.events.event_date,)),
        FigureJob("caar_paths", "caar_paths", (main.caar, small)),
        FigureJob("caar_intervals", "caar_intervals", (main.intervals, small)),
        FigureJob("car_distribution", "car_distribution", (main.car,)),
        *design_jobs(results, small),
        *_placebo_jobs(results, main.windows[0].label),
    ]


def study_figures(results: StudyResults) -> list[FigureJob]:
    rep = results.study.report
    focus, w0 = results.focus, DAY0.label
    colour_groups = rep.colour_groups or list(results.groups)
    group_of = {f: g for g in reversed(colour_groups) for f in results.groups[g]}
    firms = list(results.focus_firms())
    car0 = results.main.car_of(w0)
    ar_frame = pd.DataFrame(
        {
            "firm": firms,
            "ar": car0.car.reindex(firms).to_numpy(),
            "p": car0.p.reindex(firms).to_numpy(),
            "group": [group_of.get(f, "other") for f in firms],
        }
    )
    ev = results.main.events.set_index("ticker").loc[focus]
    fit = results.fit_data
    jobs = [
        FigureJob(
            "ar_day0",
            "ar_by_firm",
            (ar_frame.dropna(subset=["ar"]), f"Day-0 abnormal return ({results.study.benchmark})"),
        ),
        FigureJob(
            "caar_paths",
            "caar_paths",
            (results.main.caar, [g for g in results.groups if len(results.groups[g]) <= 40]),
        ),
        FigureJob("caar_intervals", "caar_intervals", (results.main.intervals, list(results.groups))),
        FigureJob(
            "estimation_fit",
            "estimation_fit",
            (
                fit[fit.ticker == focus],
                focus,
                _market_line(results.main.model.name, ev),
                results.study.estimation.end,
            ),
        ),
    ]
    if results.prices.close[results.prices.ticker == focus].notna().any():  # a returns file has no prices
        prices = (results.prices, focus, rep.drop_mark_pct, results.study.currency)
        jobs.append(FigureJob("price_path", "price_path", prices))
    if results.valued:  # no money figure where nothing is in money
        money = (results.day0.loc[firms], list(rep.marks_bn), results.study.currency)
        jobs.append(FigureJob("mv_change", "mv_change_by_firm", money))
    if len(results.sensitivity) > 1:
        frames = [
            r.car_of(w0).reindex(firms).assign(benchmark=b).reset_index()[["ticker", "benchmark", "car"]]
            for b, r in results.sensitivity.items()
        ]
        ar = pd.concat(frames).rename(columns={"ticker": "firm", "car": "ar"}).dropna()
        jobs.append(FigureJob("ar_by_benchmark", "ar_by_benchmark", (ar,)))
    return jobs + design_jobs(results, list(results.groups)) + _placebo_jobs(results, w0)


def design_jobs(results, groups: list[str]) -> list[FigureJob]:
    """The mean abnormal log turnover (``[volume]``) and the mean U* (``[volatility]``) by
    relative day, per group."""
    jobs = []
    if results.volume is not None and len(results.volume.events):  # no figure of nothing measured
        shown = [g for g in groups if g in results.volume.groups][:8]
        jobs.append(FigureJob("volume_paths", "volume_paths", (results.volume.caar, shown)))
    if results.volatility is not None:
        jobs.append(FigureJob("volatility_paths", "volatility_paths", (results.volatility.daily, groups[:8])))
    if results.long is not None:
        jobs.append(FigureJob("bhar_paths", "bhar_paths", (results.long.path, groups[:6], results.long.reference)))
    return jobs


def _market_line(model: str, params: pd.Series) -> tuple[float, float] | None:
    """The model's expected return as a line in the benchmark return: R = a + b·R_m."""
    lines = {
        "market": lambda p: (p.alpha, p.beta),
        "market-adjusted": lambda p: (0.0, 1.0),
        "constant-mean": lambda p: (p.alpha, 0.0),
    }
    return lines[model](params) if model in lines else None


@dataclass(frozen=True)
class OutputPlan:
    """Where a run writes and how: ``out`` holds REPORT.md and results/, ``figures`` the
    figures (``style``: their formats and dpi); ``exports``: the tables also as ``xlsx`` or
    ``dta``."""

    out: Path
    figures: Path
    style: FigureStyle = DEFAULT_STYLE
    exports: tuple[str, ...] = ()

    @property
    def outputs(self) -> OutputSet:
        return OutputSet(self.out, self.figures)


EXPORTS = ("xlsx", "dta")
# every figure a report may have (its name; the formats are png, pdf, svg)
FIGURE_NAMES = (
    "price_path",
    "ar_day0",
    "caar_paths",
    "caar_intervals",
    "mv_change",
    "estimation_fit",
    "ar_by_benchmark",
    "events_over_time",
    "car_distribution",
    "placebo_statistics",
    "placebo_rates",
)


def plan_output(
    study,
    out: Path | None = None,
    fig_dir: Path | None = None,
    style: FigureStyle = DEFAULT_STYLE,
    exports: tuple[str, ...] = (),
) -> OutputPlan:
    """The run's output folders, checked before any analysis: writable, and holding no file of
    the user's where the outputs would go (:class:`~eventstudy.report.outputs.OutputSet`). By default the
    study's own folder (for a shipped study ./analyses/NAME, with a copy of its definition);
    figures as :func:`eventstudy.study.workspace.figure_folder` says."""
    unknown = sorted(set(exports) - set(EXPORTS))
    if unknown:
        raise ValueError(f"exports are {', '.join(EXPORTS)}; not {', '.join(unknown)}")
    if out is None:
        out = default_out(study.path_file)
        if out != study.folder:
            working_copy(study.path_file)
    figures = Path(fig_dir) if fig_dir is not None else figure_folder(Path(out))
    plan = OutputPlan(Path(out), figures, style, tuple(dict.fromkeys(exports)))
    check_writable(plan.out, "the output folder")
    check_writable(plan.figures, "the figure folder")
    plan.outputs.refuse(candidates(plan))
    return plan


def candidates(plan: OutputPlan) -> list[Path]:
    """Every file a run of this plan may write: the reports, each results file, each figure."""
    results = [*COLUMNS, *SAMPLE_COLUMNS, "RESULTS.md", "tables.tex", "placebo.json", "results.xlsx"]
    stata = [f"stata/{Path(n).stem}.dta" for n in (*COLUMNS, *SAMPLE_COLUMNS) if n.endswith(".csv")]
    figs = [f"{n}.{fmt}" for n in FIGURE_NAMES for fmt in ("png", "pdf", "svg")]
    return [
        plan.out / "REPORT.md",
        plan.out / "REPORT.html",
        *(plan.out / "results" / n for n in dict.fromkeys([*results, *stata])),
        *(plan.figures / n for n in figs),
    ]


def write(
    results: StudyResults | SampleResults,
    out: Path | OutputPlan | None = None,
    fig_dir: Path | None = None,
    workers: FigureWorkers | None = None,
) -> Path:
    """Write results, figures and REPORT.md as one set that owns only its files (see
    :mod:`.outputs`: a run killed while writing leaves the previous set whole, a user's file is
    never replaced); returns the report's path. ``workers`` share the drawing of the figures
    (:mod:`.render`)."""
    plan = out if isinstance(out, OutputPlan) else plan_output(results.study, out, fig_dir)
    with Writing(plan, workers) as writing:
        return writing.write(results)


class Writing:
    """A run's outputs, begun before its analysis ends: :meth:`ready` hands the figures of the
    results so far to the drawing (the figure worker starts on them while the analysis goes
    on), :meth:`write` writes the whole set (:func:`write`). The figures are drawn into a
    private temporary folder and moved into the set when it is written: the output folder is
    claimed only while the set is written, as before. Left with an error, the drawing is
    cancelled before the temporary folder is removed."""

    def __init__(self, plan: OutputPlan, workers: FigureWorkers | None = None) -> None:
        self.plan, self._workers = plan, workers

    def __enter__(self) -> Writing:
        self._folder = tempfile.TemporaryDirectory(prefix="eventstudy-figures-")
        self.drawing = Drawing([], Path(self._folder.name), self._workers, self.plan.style)
        return self

    def __exit__(self, kind, *_) -> None:
        try:
            if kind is not None:
                self.drawing.cancel()
        finally:
            self._folder.cleanup()

    def ready(self, results: StudyResults | SampleResults) -> None:
        """The results so far (a figure's inputs, once there, are final): their figures are
        handed to the drawing."""
        self.drawing.add(_figures(results))

    def write(self, results: StudyResults | SampleResults) -> Path:
        from .sample import render_sample
        from .text import render

        plan = self.plan
        sample = isinstance(results, SampleResults)
        jobs = _figures(results)
        self.drawing.add(jobs)
        with plan.outputs.staging() as staged:
            write_results(results, staged.root / "results", plan.exports)
            rel = {job.name: _relpath(plan.figures / f"{job.name}.png", plan.out) for job in jobs}
            text = (render_sample if sample else render)(results, {k: Path(r) for k, r in rel.items()}, markdown_table)
            (staged.root / "REPORT.md").write_text(text)
            write_latex_tables(results, staged.root / "results" / "tables.tex")
            page = html_page(text, results.study.title)
            drawn = self.drawing.finish()
            images = {rel[job.name]: drawn[job.name].read_bytes() for job in jobs}
            for job in jobs:
                for file in plan.style.files(drawn[job.name]).values():
                    shutil.move(file, staged.figures / file.name)
            (staged.root / "REPORT.html").write_text(with_images(page, images))
        return plan.out / "REPORT.md"


def _figures(results: StudyResults | SampleResults) -> list[FigureJob]:
    return sample_figures(results) if isinstance(results, SampleResults) else study_figures(results)


def _relpath(path: Path, start: Path) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")
