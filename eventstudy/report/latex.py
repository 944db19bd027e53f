"""results/tables.tex: the main tables of a study for a paper, each fitting an article's page.

For one event date: the CAR of each firm of the smaller groups in each window (percent, with
significance marks from its t test), and the group CAARs with the 95 % interval and p-values of
the tests robust to cross-correlation and event-induced variance. For a sample: the group CAARs
likewise, and the second-stage regressions (coefficient, standard error below). Numbers sit in
``dcolumn`` columns aligned on the decimal point (a true minus, the marks as superscripts beside
the number, not in it); headers are words; p below 0.0001 prints as such; a table longer than
:data:`ROWS_PER_TABLE` rows is split, "(continued)". Needs ``\\usepackage{booktabs,dcolumn}``;
numbers only, no dates or versions (reproducible). CI compiles every shipped file with pdflatex
and fails on an overfull box.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.results import wide_tests
from ..core.tables import latex_escape, stars
from ..study.results import SampleResults, StudyResults

ROWS_PER_TABLE = 30  # rows of one table float: with its caption and notes, well within a page
WINDOWS_PER_TABLE = 4  # window columns side by side: with marks and a firm's name, within a page's width
PREAMBLE = r"\usepackage{booktabs,dcolumn}"
MARKS = "*** p < 0.01, ** p < 0.05, * p < 0.10."
NUMBER = r"D{.}{.}{-1}"  # dcolumn: aligned on the decimal point, as wide as its widest number
TEST_NAMES = {
    "kolari-pynnonen": 'Kolari--Pynn\\"onen',
    "grank": "GRANK",
    "calendar-time": "calendar-time",
    "portfolio": "portfolio",
    "corrado-rank": "Corrado rank",
    "csect-t": "cross-sectional $t$",
    "patell": "Patell",
    "bmp": "BMP",
    "generalized-sign": "generalized sign",
    "corrado-zivney": "Corrado--\\\\Zivney",  # two lines: its p column stays narrow
    "patell-kp": "Patell (KP adj.)",
    "permutation": "permutation",
    "wilcoxon": "Wilcoxon",
    "skewness-t": "skewness-corr.\\ $t$",
}


def number(x: float, decimals: int = 2, mark: str = "") -> str:
    """A number for a dcolumn cell: fixed decimals (math mode gives a true minus), the
    significance marks as a superscript; "" when missing."""
    if x is None or not np.isfinite(x):
        return ""
    return f"{x:.{decimals}f}" + (f"^{{{mark}}}" if mark else "")


def p_value(p: float) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def coefficient(x: float) -> str:
    """A regression coefficient: three decimals, or a power of ten below 0.001 (never
    "-0.0001716" at four significant digits)."""
    if x is None or not np.isfinite(x):
        return ""
    if x != 0 and abs(x) < 1e-3:
        exp = int(np.floor(np.log10(abs(x))))
        return f"{x / 10**exp:.2f}\\times10^{{{exp}}}"
    return f"{x:.3f}"


def header(text: str, width: int = 11) -> str:
    """A column head centred over a number column; a long one on two lines."""
    words = latex_escape(text).split(" ")
    if len(text) <= width or len(words) < 2:
        return rf"\multicolumn{{1}}{{c}}{{{' '.join(words)}}}"
    cut = len(words) // 2
    lines = rf"{' '.join(words[:cut])}\\ {' '.join(words[cut:])}"
    return rf"\multicolumn{{1}}{{c}}{{\begin{{tabular}}{{@{{}}c@{{}}}}{lines}\end{{tabular}}}}"


def stacked(text: str, width: int = 12) -> str:
    """A long label on two lines in its cell (a short one as it is)."""
    words = latex_escape(text).split(" ")
    if len(text) <= width or len(words) < 2:
        return " ".join(words)
    cut = len(words) // 2
    return rf"\begin{{tabular}}[t]{{@{{}}l@{{}}}}{' '.join(words[:cut])}\\ {' '.join(words[cut:])}\end{{tabular}}"


def table(rows: list[str], heads: list[str], align: str, caption: str, label: str, note: str = "") -> str:
    """Rows (LaTeX lines) as one or more booktabs tables of at most :data:`ROWS_PER_TABLE` rows,
    the later ones "(continued)"; ``note`` below each."""
    parts = max(1, -(-len(rows) // ROWS_PER_TABLE))
    size = -(-len(rows) // parts) if rows else 1  # as even as the rows allow
    chunks = [rows[i : i + size] for i in range(0, max(len(rows), 1), size)]
    font = r"\footnotesize" if len(heads) > 6 else r"\small"  # more columns: a size smaller, within the page
    out = []
    for k, chunk in enumerate(chunks):
        more = f" (continued, {k + 1} of {len(chunks)})" if len(chunks) > 1 and k else ""
        lines = [
            r"\begin{table}[htbp]",
            rf"\centering{font}\setlength{{\tabcolsep}}{{3.5pt}}",
            rf"\caption{{{latex_escape(caption)}{more}}}",
            rf"\label{{{label}{'-' + str(k + 1) if k else ''}}}",
            rf"\begin{{tabular}}{{@{{}}{align}@{{}}}}",
            r"\toprule",
            " & ".join(heads) + r" \\",
            r"\midrule",
            *chunk,
            r"\bottomrule",
            r"\end{tabular}",
        ]
        if note:
            lines.append(rf"\par\smallskip\parbox{{\linewidth}}{{\footnotesize {note}}}")
        out.append("\n".join([*lines, r"\end{table}", ""]))
    return "\n".join(out)


def _cars(res: StudyResults) -> str:
    """The CARs by firm and window: at most :data:`WINDOWS_PER_TABLE` windows side by side (more
    go to a next table), at most :data:`ROWS_PER_TABLE` firms a table."""
    firms = list(res.focus_firms())
    car = res.main.car.set_index(["ticker", "window"])
    labels = [w.label for w in res.main.windows]
    s = res.study
    note = latex_escape(
        f"{res.main.model.name} model, benchmark {s.benchmark}, estimation window "
        f"[{s.estimation.start}, {s.estimation.end}] sessions; the firms of the groups of at most 40 firms. "
        f"Marks from each CAR's t test: {MARKS}"
    )
    out = []
    for k in range(0, len(labels), WINDOWS_PER_TABLE):
        windows = labels[k : k + WINDOWS_PER_TABLE]
        rows = [
            " & ".join(
                [latex_escape(f)]
                + [number(100 * car.car.get((f, w), np.nan), 2, stars(car.p.get((f, w), np.nan))) for w in windows]
            )
            + r" \\"
            for f in firms
        ]
        more = f", windows {k + 1}–{k + len(windows)} of {len(labels)}" if len(labels) > WINDOWS_PER_TABLE else ""
        out.append(
            table(
                rows,
                ["Firm", *(header(w) for w in windows)],
                "l" + NUMBER * len(windows),
                f"{s.title}: cumulative abnormal returns by firm and window (%){more}",
                f"tab:{s.name}:car{'-w' + str(k // WINDOWS_PER_TABLE + 1) if k else ''}",
                note,
            )
        )
    return "\n".join(out)


def _tests(res: StudyResults | SampleResults, caption: str, label: str) -> str:
    """The group CAARs, one panel per group: each window's N, CAAR, the lead test's 95 % interval
    and the lead tests' p-values."""
    main = res.main
    wide = wide_tests(main.tests, main.tests.robust)
    names = [c.removeprefix("p_") for c in wide.columns if c.startswith("p_")]
    first = names[0] if names else ""
    iv = main.intervals[main.intervals.test == first].set_index(["group", "window"])
    rows = []
    for group, part in wide.groupby("group", sort=False):
        rows.append(rf"\multicolumn{{{4 + len(names)}}}{{@{{}}l}}{{\textit{{{latex_escape(group)}}}}} \\")
        for _, r in part.iterrows():
            lo, hi = iv.lo.get((group, r.window), np.nan), iv.hi.get((group, r.window), np.nan)
            if np.isfinite(lo) and np.isfinite(hi):
                ci = f"$[{number(100 * lo)}, {number(100 * hi)}]$"
            else:
                ci = "unbounded" if np.isinf(lo) else ""
            cells = [
                r"\quad " + stacked(r.window),
                str(int(r.n_firms)),
                number(100 * r.caar),
                ci,
                *(p_value(r[f"p_{n}"]) for n in names),
            ]
            rows.append(" & ".join(cells) + r" \\")
    heads = [
        "Window",
        header("N"),
        header("CAAR (%)"),
        r"\multicolumn{1}{c}{\begin{tabular}{@{}c@{}}95 \% interval\\ (\%)\end{tabular}}",
        *(_p_head(n) for n in names),
    ]
    note = (
        "The tests that hold their size under cross-correlation and event-induced variance. The interval inverts "
        f"the {TEST_NAMES.get(first, first)} test (the CAARs it does not reject at 5 \\%); it is centred on a "
        "precision-weighted mean, not on the CAAR."
    )
    return table(rows, heads, "lr" + NUMBER + "c" + NUMBER * len(names), caption, label, note)


def _p_head(test: str) -> str:
    """A p-value column's head: the test's name over "p"."""
    name = TEST_NAMES.get(test, latex_escape(test))
    return rf"\multicolumn{{1}}{{c}}{{\begin{{tabular}}{{@{{}}c@{{}}}}{name}\\ $p$\end{{tabular}}}}"


def _second_stage(res: SampleResults) -> str:
    stages = {w: s for w, s in res.second_stage.items() if len(s.table)}
    if not stages:
        return ""
    terms = list(dict.fromkeys(t for s in stages.values() for t in s.table.term))
    rows = []
    for term in terms:
        coef, se = [latex_escape(term)], [""]
        for s in stages.values():
            r = s.table.set_index("term").reindex([term]).iloc[0]
            coef.append(f"{coefficient(r.coef)}^{{{stars(r.p)}}}" if stars(r.p) else coefficient(r.coef))
            se.append(f"({coefficient(r.se)})" if np.isfinite(r.se) else "")
        rows += [" & ".join(coef) + r" \\", " & ".join(se) + r" \\[2pt]"]
    rows.append(r"\midrule")
    rows.append(
        " & ".join(["$N$", *(rf"\multicolumn{{1}}{{c}}{{{int(s.table['n'].iloc[0])}}}" for s in stages.values())])
        + r" \\"
    )
    rows.append(" & ".join(["$R^2$", *(rf"\multicolumn{{1}}{{c}}{{{s.r2:.3f}}}" for s in stages.values())]) + r" \\")
    covs = "; ".join(dict.fromkeys(str(s.table["cov"].iloc[0]) for s in stages.values()))
    note = latex_escape(f"Standard errors in parentheses ({covs}); p-values from t. {MARKS}")
    name = res.study.name
    return table(
        rows,
        ["", *(header(f"CAR {w}") for w in stages)],
        "l" + NUMBER * len(stages),
        f"{res.study.title}: second stage, OLS of the CARs on the characteristics",
        f"tab:{name}:second-stage",
        note,
    )


def study_tables(res: StudyResults) -> str:
    name, title = res.study.name, res.study.title
    return "\n".join(
        [
            _cars(res),
            _tests(
                res,
                f"{title}: group CAARs and the tests robust to both cross-correlation and event-induced variance",
                f"tab:{name}:tests",
            ),
        ]
    )


def sample_tables(res: SampleResults) -> str:
    name, title = res.study.name, res.study.title
    return "\n".join(
        p
        for p in (_tests(res, f"{title}: group CAARs and the robust tests", f"tab:{name}:tests"), _second_stage(res))
        if p
    )


def write_latex_tables(results: StudyResults | SampleResults, path: Path) -> None:
    text = sample_tables(results) if isinstance(results, SampleResults) else study_tables(results)
    path.write_text(f"% tables written by eventstudy; in the preamble: {PREAMBLE}\n" + text)
