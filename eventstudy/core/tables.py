"""Plain-text tables shared by ``summary()`` and the report (no imports of results or report)."""

from __future__ import annotations

import math
import re

import pandas as pd


def text_table(frame: pd.DataFrame, formats: dict[str, str] | None = None, index: bool = False) -> str:
    """``frame`` as an aligned text table; ``formats`` maps a column to a format spec."""
    formats = formats or {}
    shown = frame.copy()
    for col in shown.columns:
        shown[col] = [_fmt(v, formats.get(col, "")) for v in shown[col]]
    return shown.to_string(index=index)


def markdown_table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """``frame`` as a GitHub-flavoured Markdown table."""
    formats = formats or {}
    cols = list(frame.columns)
    rows = [
        [_fmt(v, formats.get(c, "")) for c, v in zip(cols, rec, strict=True)] for rec in frame.itertuples(index=False)
    ]
    head = "| " + " | ".join(map(str, cols)) + " |"
    rule = "|" + "|".join("---" for _ in cols) + "|"
    return "\n".join([head, rule, *("| " + " | ".join(r) + " |" for r in rows)])


def given(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its columns of no value at all (a returns file without prices has no
    day's low and no market value: a column of dashes tells a reader nothing)."""
    return frame.loc[:, frame.notna().any().to_numpy() | (len(frame) == 0)]


def count_of(n: int, noun: str) -> str:
    """``n`` and the noun, in the plural unless one: "1 group", "3 groups"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def money_bn(x: float, currency: str = "USD", signed: bool = False, digits: int = 0) -> str:
    """An amount given in billions as a reader reads it: "$600 bn" in US dollars, "GBP 600 bn" in
    another currency; ``signed`` puts + or − before it (a change), "–" when missing."""
    if x != x:
        return "–"
    sign = ("−" if x < 0 else "+") if signed else ("-" if x < 0 else "")
    unit = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{unit}{abs(x):,.{digits}f} bn"


def _fmt(value: object, spec: str) -> str:
    """One cell: a missing or non-finite number is "–" (never 'nan' or 'inf'); a date is a date."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or value is pd.NaT:
        return "–"
    if spec and isinstance(value, int | float):
        return format(value, spec)
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return f"{value:%Y-%m-%d}"  # a session date, without a time of day
    return str(value)


_LATEX = {
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
    "<": r"$<$",
    ">": r"$>$",
    "−": r"$-$",
    "–": "--",
    "—": "---",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "×": r"$\times$",
    "r̄": r"$\bar{r}$",
    "σ̂": r"$\hat\sigma$",
    "θ̂": r"$\hat\theta$",
    "α": r"$\alpha$",
    "β": r"$\beta$",
    "ε": r"$\varepsilon$",
    "σ": r"$\sigma$",
    "θ": r"$\theta$",
    "ρ": r"$\rho$",
    "μ": r"$\mu$",
    "Δ": r"$\Delta$",
    "Σ": r"$\Sigma$",
    "√": r"$\surd$",
    "′": "'",
    "·": r"$\cdot$",
    "→": r"$\to$",
    "…": r"\ldots{}",
    "“": "``",
    "”": "''",
    "„": ",,",
    "‘": "`",
    "’": "'",
    "₀": r"$_0$",
    "₁": r"$_1$",
    "₂": r"$_2$",
}
_MULTI = ("r̄", "σ̂", "θ̂")  # several code points each


def latex_escape(text: object) -> str:
    """Text for LaTeX (no packages, no extra fonts): special characters escaped, <, >, ≥ and the
    like in math mode (a plain "<" prints "¡" in OT1), a minus sign as math's true minus; a hyphen
    before a digit ("[-1,+1]") is a minus too."""
    out = re.sub(r"(?<![\w])-(?=\d)", "−", str(text))
    for i, key in enumerate(_MULTI):  # several code points: replaced first
        out = out.replace(key, f"\x00{i}\x00")
    out = "".join(_LATEX.get(ch, ch if ord(ch) < 0x250 else _plain_char(ch)) for ch in out)
    for i, key in enumerate(_MULTI):
        out = out.replace(f"\x00{i}\x00", _LATEX[key])
    return out


def _plain_char(ch: str) -> str:
    """A character pdflatex cannot set: its base letter when it has one, else "?"."""
    import unicodedata

    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 0x250 for c in base) else "?"


def stars(p: float) -> str:
    """Significance marks: *** p < 0.01, ** p < 0.05, * p < 0.10."""
    if pd.isna(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


_LINK = re.compile(r"\[([^\]]+)\]\(#[^)]*\)")
_TAG = re.compile(r"<[^>]+>")


def terminal_text(markdown: str, width: int = 160) -> str:
    """A report's Markdown for a terminal: tables aligned in columns (a table wider than
    ``width`` as one block per row), figures, HTML tags, bold marks and in-page links left out
    (their text kept)."""
    out: list[str] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if not rows:
            return
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(rows[0]))]
        if sum(widths) + 2 * len(widths) <= width:
            out.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows)
        else:  # too wide for a terminal: one block per row, a field a line
            name = max(len(h) for h in rows[0])
            for r in rows[1:]:
                out.extend(f"{h.rjust(name)}: {c}" for h, c in zip(rows[0], r, strict=False))
                out.append("")
        rows.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [_plain(c.strip()) for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
            continue
        flush()
        if line.startswith("![") or line.strip() in ("</details>", ""):
            if line.strip() == "" and out and out[-1] != "":
                out.append("")
            continue
        out.append(_plain(line.replace("<summary>", "").replace("</summary>", ":")))
    flush()
    return "\n".join(out).strip() + "\n"


def _plain(text: str) -> str:
    return _TAG.sub("", _LINK.sub(r"\1", text)).replace("**", "")
