"""A result's summary as an object, as statsmodels' and linearmodels' are: the same parts as text
(``as_text``, what ``print`` shows), HTML (``as_html``, what a notebook shows) and LaTeX
(``as_latex``: booktabs tabulars, for a paper or a referee report)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from .tables import _fmt, latex_escape, text_table


@dataclass(frozen=True)
class Table:
    """A table of a summary: a frame, the format of its numeric columns, and a caption."""

    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    caption: str = ""

    def cells(self) -> list[list[str]]:
        cols = list(self.frame.columns)
        return [
            [_fmt(v, self.formats.get(c, "")) for c, v in zip(cols, row, strict=True)]
            for row in self.frame.itertuples(index=False)
        ]


@dataclass(frozen=True)
class Summary:
    """``title`` and ``parts``, each a line of text or a :class:`Table`."""

    title: str
    parts: tuple[str | Table, ...]

    def as_text(self) -> str:
        out = [self.title]
        for part in self.parts:
            if isinstance(part, Table):
                out += [f"\n{part.caption}" if part.caption else "", text_table(part.frame, part.formats)]
            else:
                out.append(part)
        return "\n".join(p for p in out if p)

    def as_html(self) -> str:
        out = [f'<div class="eventstudy-summary"><h4>{html.escape(self.title)}</h4>']
        for part in self.parts:
            if isinstance(part, Table):
                head = "".join(f"<th>{html.escape(str(c))}</th>" for c in part.frame.columns)
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in part.cells()
                )
                caption = f"<caption>{html.escape(part.caption)}</caption>" if part.caption else ""
                out.append(f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif part.strip():
                out.append(f"<p>{html.escape(part.strip())}</p>")
        return "\n".join([*out, "</div>"])

    def as_latex(self) -> str:
        """LaTeX: the text as paragraphs and each table as a booktabs tabular (needs
        ``\\usepackage{booktabs}``)."""
        out = [rf"\paragraph{{{latex_escape(self.title)}}}"]
        for part in self.parts:
            if isinstance(part, Table):
                cols = list(part.frame.columns)
                align = "l" * len(cols)
                if part.caption:
                    out.append(rf"\noindent {latex_escape(part.caption)}\\")
                out += [
                    rf"\begin{{tabular}}{{{align}}}",
                    r"\toprule",
                    " & ".join(latex_escape(c) for c in cols) + r" \\",
                    r"\midrule",
                    *(" & ".join(latex_escape(c) for c in row) + r" \\" for row in part.cells()),
                    r"\bottomrule",
                    r"\end{tabular}",
                    "",
                ]
            elif part.strip():
                out.append(latex_escape(part.strip()) + "\n")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def __contains__(self, text: str) -> bool:
        return text in self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()
