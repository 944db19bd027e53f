"""One function per figure: tidy frame in, matplotlib ``Figure`` out (no saving, no showing).

matplotlib is imported lazily, only when a figure is drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.tables import money_bn

PALETTE = ["#1b6ca8", "#d1495b", "#edae49", "#66a182", "#8d6a9f", "#00798c", "#a05c34", "#6c757d"]


def _fig(w: float = 8.0, h: float = 4.5, **subplots):
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = "eventstudy"  # an SVG's element ids: the same every run
    fig = Figure(figsize=(w, h), layout="constrained")
    return fig, fig.subplots(**subplots)


def price_path(prices: pd.DataFrame, ticker: str, drop_pct: float | None = None, currency: str = "USD"):
    """Daily high–low range and close of ``ticker`` around day 0 (in ``currency``); a line marks
    ``drop_pct`` below the day −1 close (a claim's figure)."""
    fig, ax = _fig()
    p = prices[prices.ticker == ticker].set_index("day")
    ax.vlines(p.index, p.low, p.high, color="#9aa5b1", lw=6, label="daily high–low range")
    ax.plot(p.index, p.close, "o-", color=PALETTE[0], label="close")
    if drop_pct is not None and -1 in p.index:
        level = p.close.loc[-1] * (1 - drop_pct / 100)
        ax.axhline(level, color=PALETTE[1], ls="--", lw=1, label=f"−{drop_pct:g} % from the day −1 close")
    ax.axvline(0, color="black", lw=0.6)
    ax.set(
        xlabel="sessions relative to the event (day 0)",
        ylabel=f"price ({currency})",
        title=f"{ticker} around the event",
    )
    ax.legend(loc="best", fontsize=8)
    return fig


def ar_by_firm(frame: pd.DataFrame, title: str):
    """Day-0 AR by firm (``firm, ar, p, group``), sorted, coloured by group, significance marked."""
    f = frame.sort_values(["ar", "firm"])
    fig, ax = _fig(8.0, max(4.0, 0.22 * len(f) + 1))
    groups = list(dict.fromkeys(f.group))
    colours = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    ax.barh(f.firm, 100 * f.ar, color=[colours[g] for g in f.group])
    for y, (ar, p) in enumerate(zip(f.ar, f.p, strict=True)):
        mark = "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""
        ax.text(
            100 * ar,
            y,
            f" {mark}" if ar >= 0 else f"{mark} ",
            va="center",
            ha="left" if ar >= 0 else "right",
            fontsize=7,
        )
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=colours[g], label=g) for g in groups], fontsize=8, loc="lower right")
    ax.axvline(0, color="black", lw=0.6)
    ax.set(xlabel="abnormal return on day 0 (%)   * p<0.10  ** p<0.05  *** p<0.01", title=title)
    ax.tick_params(axis="y", labelsize=7)
    return fig


def caar_paths(caar: pd.DataFrame, groups: list[str]):
    """CAAR path per group (one panel each, shared axes) with the portfolio test's 95 % interval
    (CAAR ± t(L_p − 1) σ̂_p·√days, robust to cross-correlation)."""
    ncols = min(3, len(groups))
    nrows = -(-len(groups) // ncols)
    fig, axes = _fig(3.2 * ncols, 2.8 * nrows + 0.4, nrows=nrows, ncols=ncols, sharex=True, sharey=True, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(groups):
            ax.set_axis_off()
            continue
        c = caar[caar.group == groups[i]]
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(c.day, 100 * c.lo, 100 * c.hi, color=colour, alpha=0.2)
        ax.plot(c.day, 100 * c.caar, color=colour)
        ax.axvline(-0.5, color="black", lw=0.6)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(groups[i], fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("sessions from day 0")
    start = int(caar.day.min()) if len(caar) else 0
    for ax in axes[:, 0]:
        ax.set_ylabel(f"CAAR from day {start:+d} (%)".replace("-", "−"))
    fig.suptitle("Cumulative average abnormal return by group, with the portfolio test's 95 % interval", fontsize=10)
    return fig


VOLUME_LABELS = ("mean abnormal log turnover", "Abnormal trading volume by group (log turnover against the market's)")
VOLATILITY_LABELS = (
    "mean U* (1: variance as before)",
    "Abnormal volatility by group: squared standardized abnormal returns",
)


def volume_paths(caar: pd.DataFrame, groups: list[str]):
    """Mean abnormal log turnover (AV) of each group on each relative day."""
    return _daily_lines(caar.rename(columns={"aar": "value"}), groups, 0.0, *VOLUME_LABELS)


def volatility_paths(daily: pd.DataFrame, groups: list[str]):
    """Each group's mean U* (the squared standardized AR, 1 under no change) on each relative day."""
    return _daily_lines(daily.rename(columns={"u_star": "value"}), groups, 1.0, *VOLATILITY_LABELS)


def _daily_lines(frame: pd.DataFrame, groups: list[str], baseline: float, ylabel: str, title: str):
    """One line per group of ``frame``'s ``value`` by relative ``day``, day 0 and ``baseline`` marked."""
    fig, ax = _fig(7.5, 3.8)
    for i, g in enumerate(groups):
        d = frame[frame.group == g].sort_values("day")
        ax.plot(d.day, d.value, color=PALETTE[i % len(PALETTE)], marker="o", ms=3, label=g)
    ax.axvline(-0.5, color="black", lw=0.6)
    ax.axhline(baseline, color="black", lw=0.6)
    ax.set(xlabel="sessions from day 0", ylabel=ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, ncols=2)
    return fig


def bhar_paths(path: pd.DataFrame, groups: list[str], reference: str):
    """Each group's mean BHAR from the window's start to each session, with its 95 % interval."""
    fig, ax = _fig(7.5, 3.8)
    for i, g in enumerate(groups):
        d = path[path.group == g].sort_values("day")
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(d.day, 100 * d.lo, 100 * d.hi, color=colour, alpha=0.15)
        ax.plot(d.day, 100 * d.bhar, color=colour, label=g)
    ax.axhline(0, color="black", lw=0.6)
    ax.set(xlabel="sessions from day 0", ylabel=f"mean BHAR against {reference} (%)")
    ax.set_title("Buy-and-hold abnormal returns by group, with 95 % intervals", fontsize=10)
    ax.legend(fontsize=7, frameon=False, ncols=2)
    return fig


def caar_intervals(intervals: pd.DataFrame, groups: list[str]):
    """Each group's CAAR in each window with its 95 % intervals: Kolari–Pynnönen's (thick; robust
    to cross-correlation) and the cross-sectional t's (thin; assumes independent events), the
    CAAR marked. ``intervals``: :mod:`eventstudy.core.intervals`' frame."""
    windows = list(dict.fromkeys(intervals.window))
    rows = [(g, w) for g in groups for w in windows]
    fig, ax = _fig(8.0, 0.28 * len(rows) + 1.4)
    first, row = {}, {}  # each (group, window)'s first row, and its row of each test
    for r in intervals.itertuples(index=False):
        first.setdefault((r.group, r.window), r)
        row.setdefault((r.group, r.window, r.test), r)
    for y, (g, w) in enumerate(rows):
        colour = PALETTE[windows.index(w) % len(PALETTE)]
        for test, lw in (("csect-t", 1.0), ("kolari-pynnonen", 3.5)):
            r = row.get((g, w, test))
            if r is None:
                continue
            if np.isfinite(r.lo) and np.isfinite(r.hi):
                ax.plot([100 * r.lo, 100 * r.hi], [y, y], color=colour, lw=lw, alpha=0.55 if lw > 1 else 1.0)
            elif r.note == "unbounded":
                ax.annotate("unbounded", (100 * r.estimate, y), fontsize=6, ha="left", va="bottom")
        if (g, w) in first:
            ax.plot(100 * first[g, w].estimate, y, "o", color=colour, ms=3)
    ax.set_yticks(range(len(rows)), [f"{g}  {w}" for g, w in rows], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set(xlabel="CAAR (%): thick, Kolari–Pynnönen's 95 % interval; thin, the cross-sectional t's")
    ax.set_title("CAAR by group and window, with the intervals of the tests", fontsize=10)
    return fig


def mv_change_by_firm(day0: pd.DataFrame, marks_bn: list[float], currency: str = "USD"):
    """Day-0 market-value change by firm, raw vs abnormal (``currency`` bn), with the claims'
    marks drawn against the running total of losses."""
    f = day0.rename_axis("firm").reset_index().sort_values(["mv_change", "firm"]).set_index("firm").head(25)
    fig, (ax, ax2) = _fig(10.0, 6.0, ncols=2, width_ratios=[3, 2])
    y = np.arange(len(f))
    ax.barh(y - 0.2, f.mv_change / 1e9, height=0.4, color=PALETTE[0], label="raw change")
    ax.barh(y + 0.2, f.mv_abnormal / 1e9, height=0.4, color=PALETTE[1], label="abnormal change")
    ax.set_yticks(y, f.index, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set(xlabel=f"market-value change on day 0 ({currency} bn)", title="25 largest losses")
    ax.legend(fontsize=8, loc="lower left")
    total = (-f.mv_change / 1e9).cumsum()
    ax2.plot(total.to_numpy(), y, "o-", color=PALETTE[0], ms=3)
    ax2.set_yticks(y, f.index, fontsize=7)
    ax2.invert_yaxis()
    for m in marks_bn:
        ax2.axvline(m, color=PALETTE[1], ls="--", lw=1)
        ax2.text(m, len(f) - 0.5, f" {money_bn(m, currency)}", color=PALETTE[1], fontsize=8, va="bottom")
    ax2.set(xlabel=f"running total of raw losses ({currency} bn)", title="Cumulated, largest first")
    return fig


def estimation_fit(fit_data: pd.DataFrame, ticker: str, line: tuple[float, float] | None, est_end: int):
    """The firm's returns in the estimation window and on day 0 against the benchmark's, with
    the model's line R = a + b·R_m (``line``); for a factor model (``line`` None), against the
    model's expected return, with the 45° line on which a day without abnormal return lies."""
    fig, ax = _fig(6.5, 5.0)
    d = fit_data[fit_data.ticker == ticker]
    x = "mkt" if line is not None else "expected"
    est, ev = d[d.day <= est_end], d[d.day == 0]
    ax.scatter(100 * est[x], 100 * est.ret, s=8, color=PALETTE[0], alpha=0.6, label="estimation window")
    xs = np.linspace(d[x].min(), d[x].max(), 2)
    if line is not None:
        a, b = line
        ax.plot(100 * xs, 100 * (a + b * xs), color="black", lw=1, label=f"expected: α={100 * a:.3f} %, β={b:.2f}")
    else:
        ax.plot(100 * xs, 100 * xs, color="black", lw=1, label="return = expected (AR = 0)")
    ax.scatter(100 * ev[x], 100 * ev.ret, s=60, color=PALETTE[1], marker="X", label="day 0")
    xlabel = "benchmark return (%)" if line is not None else "expected return of the factor model (%)"
    ax.set(xlabel=xlabel, ylabel=f"{ticker} return (%)", title=f"{ticker}: model fit and the event day")
    ax.legend(fontsize=8)
    return fig


def ar_by_benchmark(frame: pd.DataFrame):
    """Day-0 AR by firm under each benchmark (``firm, benchmark, ar``), side by side."""
    wide = frame.pivot(index="firm", columns="benchmark", values="ar")
    wide = wide.assign(_firm=wide.index).sort_values([wide.columns[0], "_firm"]).drop(columns="_firm")
    fig, ax = _fig(8.0, max(4.0, 0.22 * len(wide) + 1))
    y = np.arange(len(wide))
    h = 0.8 / wide.shape[1]
    for i, b in enumerate(wide.columns):
        ax.barh(y + (i - (wide.shape[1] - 1) / 2) * h, 100 * wide[b], height=h, color=PALETTE[i], label=b)
    ax.set_yticks(y, wide.index, fontsize=7)
    ax.axvline(0, color="black", lw=0.6)
    ax.set(xlabel="abnormal return on day 0 (%)", title="Day-0 abnormal return by benchmark")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def car_distribution(cars: pd.DataFrame):
    """Histogram of the firm-events' CARs (``window, car``), one panel per window."""
    windows = list(dict.fromkeys(cars.window))
    fig, axes = _fig(8.0, 2.6 * len(windows), nrows=len(windows), squeeze=False)
    for ax, w in zip(axes[:, 0], windows, strict=True):
        x = 100 * cars.car[cars.window == w].dropna()
        ax.hist(x, bins=min(60, max(10, len(x) // 20)), color=PALETTE[0], alpha=0.85)
        ax.axvline(0, color="black", lw=0.6)
        ax.axvline(x.mean(), color=PALETTE[1], lw=1.2, label=f"mean {x.mean():+.2f} %")
        ax.set(ylabel="events", title=f"CAR {w} (N = {len(x)})")
        ax.legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel("cumulative abnormal return (%)")
    return fig


def events_over_time(dates: pd.Series):
    """Firm-events per month: how a sample's dates cluster."""
    per = pd.Series(1, index=pd.DatetimeIndex(dates)).resample("MS").sum()
    fig, ax = _fig(8.0, 3.2)
    ax.bar(per.index, per.to_numpy(), width=20, color=PALETTE[0])
    ax.set(ylabel="firm-events", title=f"Firm-events per month ({len(dates)} on {pd.Series(dates).nunique()} dates)")
    return fig


def placebo_statistics(draws: pd.DataFrame, real: pd.DataFrame, tests: list[str], groups: list[str]):
    """Per lead test (one panel each), the placebo distribution of its statistic in each group
    (box: quartiles; whiskers: the 2.5 and 97.5 percentiles) and the event's statistic (a red
    dot). ``draws``/``real``: ``group, test, stat`` of one window."""
    fig, axes = _fig(8.0, 2.3 * len(tests) + 0.6, nrows=len(tests), sharex=True, squeeze=False)
    for ax, test in zip(axes[:, 0], tests, strict=True):
        data = [draws.stat[(draws.test == test) & (draws.group == g)].dropna().to_numpy() for g in groups]
        ax.boxplot(data, whis=(2.5, 97.5), showfliers=False, widths=0.5)
        event = [real.stat[(real.test == test) & (real.group == g)] for g in groups]
        ys = [e.iloc[0] if len(e) else np.nan for e in event]
        ax.plot(np.arange(1, len(groups) + 1), ys, "o", color=PALETTE[1], label="the event")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_ylabel(test, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xticks(np.arange(1, len(groups) + 1), groups, fontsize=7, rotation=20)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(
        "Placebo statistics on dates without the event (box 25-75 %, whiskers 2.5-97.5 %); the event in red", fontsize=9
    )
    return fig


def placebo_rates(table: pd.DataFrame, groups: list[str], level: float = 0.05):
    """Each test's placebo rejection rate at ``level`` per group, with its 95 % interval, against
    the nominal level. ``table``: one window's rows of the placebo table."""
    tests = list(dict.fromkeys(table.test))
    tag = f"{round(100 * level):02d}"
    fig, ax = _fig(8.0, 0.75 * len(tests) + 1.6)
    width = 0.8 / max(1, len(groups))
    for j, group in enumerate(groups):
        t = table[table.group == group].set_index("test").reindex(tests)
        y = np.arange(len(tests)) + (j - (len(groups) - 1) / 2) * width
        rate = 100 * t[f"reject_{tag}"].to_numpy()
        err = [rate - 100 * t[f"lo_{tag}"].to_numpy(), 100 * t[f"hi_{tag}"].to_numpy() - rate]
        ax.errorbar(rate, y, xerr=err, fmt="o", ms=3, lw=1, color=PALETTE[j % len(PALETTE)], label=group)
    ax.axvline(100 * level, color="black", lw=0.8, ls="--")
    ax.set_yticks(np.arange(len(tests)), tests, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=f"placebo rejection rate at {100 * level:g} % (with 95 % Clopper–Pearson interval)", xlim=(0, None))
    ax.set_title(f"How often each test rejects when nothing happened (nominal {100 * level:g} %, dashed)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def save_png(fig, path, dpi: float, metadata: dict) -> None:
    """What ``fig.savefig(path, dpi=dpi, metadata=metadata)`` writes, drawn once: savefig first
    draws the whole figure to nowhere to run its layout, then again to pixels with the layout
    fixed; here the layout runs inside the one drawing to pixels (the same positions, the same
    bytes, in two thirds of the time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.dpi = dpi
    FigureCanvasAgg(fig).print_png(path, metadata=metadata)


def warm_up(dpi: float) -> None:
    """Draw a small figure with text to nowhere: matplotlib, its fonts and the renderer
    loaded before the first real figure."""
    import io

    fig, ax = _fig(1.0, 1.0)
    ax.set_title("warm-up")
    fig.savefig(io.BytesIO(), format="png", dpi=dpi)
