"""Plain-text tables shared by ``summary()`` and the report (no imports of results or report)."""

from __future__ import annotations

import math

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


def _fmt(value: object, spec: str) -> str:
    """One cell: a missing or non-finite number is "–" (never 'nan' or 'inf'); a date is a date."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or value is pd.NaT:
        return "–"
    if spec and isinstance(value, int | float):
        return format(value, spec)
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return f"{value:%Y-%m-%d}"  # a session date, without a time of day
    return str(value)


def stars(p: float) -> str:
    """Significance marks: *** p < 0.01, ** p < 0.05, * p < 0.10."""
    if pd.isna(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""
