"""results/tables.tex: the main tables of a study in booktabs form, for a paper.

For one event date: the CAR of each firm of the smaller groups in each window (percent, with
significance marks from its t test), and the group CAARs with the p-values of the tests that
hold their size under cross-correlation. For a sample: the group CAARs with the robust tests,
and the second-stage regressions (coefficient, standard error below). Needs
``\\usepackage{booktabs}``; numbers only, no dates or versions (reproducible).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .results import SampleResults, StudyResults, wide_tests
from .tables import stars

_ESCAPE = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "−": "-",
    "–": "--",
}


def escape(text: object) -> str:
    return "".join(_ESCAPE.get(ch, ch) for ch in str(text))


def booktabs(frame: pd.DataFrame, caption: str, label: str, align: str | None = None, note: str = "") -> str:
    """``frame`` (cells already text) as a LaTeX table with booktabs rules."""
    align = align or "l" + "r" * (frame.shape[1] - 1)
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{escape(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(escape(c) for c in frame.columns) + r" \\",
        r"\midrule",
        *(" & ".join(escape(v) for v in row) + r" \\" for row in frame.itertuples(index=False)),
        r"\bottomrule",
        r"\end{tabular}",
    ]
    if note:
        lines += [rf"\par\smallskip\footnotesize {escape(note)}"]
    return "\n".join([*lines, r"\end{table}", ""])


_MARKS = "*** p < 0.01, ** p < 0.05, * p < 0.10."


def _pct(x: float, p: float = float("nan")) -> str:
    return "" if pd.isna(x) else f"{100 * x:.2f}{stars(p)}"


def _p(x: float) -> str:
    return "" if pd.isna(x) else f"{x:.4f}"


def _group_table(tests: pd.DataFrame, caption: str, label: str) -> str:
    lead = wide_tests(tests, tests.robust)
    cells = pd.DataFrame(
        {
            "Group": lead.group,
            "Window": lead.window,
            "N": lead.n_firms.astype(int).astype(str),
            "CAAR (%)": [_pct(x) for x in lead.caar],
            **{f"p {c.removeprefix('p_')}": [_p(x) for x in lead[c]] for c in lead.columns if c.startswith("p_")},
        }
    )
    return booktabs(cells, caption, label, "ll" + "r" * (cells.shape[1] - 2))


def study_tables(res: StudyResults) -> str:
    firms = list(res.focus_firms())
    car = res.main.car.set_index(["ticker", "window"])
    windows = [w.label for w in res.main.windows]
    cells = pd.DataFrame(
        {"Firm": firms}
        | {
            w: [_pct(car.car.get((f, w), float("nan")), car.p.get((f, w), float("nan"))) for f in firms]
            for w in windows
        }
    )
    name = res.study.name
    return "\n".join(
        [
            booktabs(
                cells,
                f"{res.study.title}: cumulative abnormal returns by firm and window (%)",
                f"tab:{name}:car",
                note=f"{res.main.model.name} model, benchmark {res.study.benchmark}, estimation window "
                f"[{res.study.estimation.start}, {res.study.estimation.end}]. Marks from each CAR's t test: {_MARKS}",
            ),
            _group_table(
                res.main.tests,
                f"{res.study.title}: group CAARs and the tests that hold their size under cross-correlation",
                f"tab:{name}:tests",
            ),
        ]
    )


def sample_tables(res: SampleResults) -> str:
    name = res.study.name
    parts = [_group_table(res.main.tests, f"{res.study.title}: group CAARs and the robust tests", f"tab:{name}:tests")]
    stages = {w: s for w, s in res.second_stage.items() if len(s.table)}
    if stages:
        terms = list(dict.fromkeys(t for s in stages.values() for t in s.table.term))
        rows = []
        for term in terms:
            coef, se = [term], [""]
            for s in stages.values():
                r = s.table.set_index("term").reindex([term]).iloc[0]
                coef.append("" if pd.isna(r.coef) else f"{r.coef:.4g}{stars(r.p)}")
                se.append("" if pd.isna(r.se) else f"({r.se:.4g})")
            rows += [coef, se]
        rows.append(["N", *(str(int(s.table["n"].iloc[0])) for s in stages.values())])
        rows.append(["R-squared", *(f"{s.r2:.3f}" for s in stages.values())])
        frame = pd.DataFrame(rows, columns=["", *(f"CAR {w}" for w in stages)])
        covs = "; ".join(dict.fromkeys(str(s.table["cov"].iloc[0]) for s in stages.values()))
        parts.append(
            booktabs(
                frame,
                f"{res.study.title}: second stage, OLS of the CARs on the characteristics",
                f"tab:{name}:second-stage",
                note=f"Standard errors in parentheses ({covs}). {_MARKS}",
            )
        )
    return "\n".join(parts)


def write_latex_tables(results: StudyResults | SampleResults, path: Path) -> None:
    text = sample_tables(results) if isinstance(results, SampleResults) else study_tables(results)
    path.write_text("% booktabs tables written by eventstudy; \\usepackage{booktabs}\n" + text)
