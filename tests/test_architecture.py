"""The layering the README promises, checked on the source: arrows point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "eventstudy"
CORE = sorted(str(p.relative_to(PKG)) for p in (PKG / "core").glob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def _modules():
    return sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("lib, allowed", [("yfinance", {"data/sources.py"}), ("matplotlib", {"report/figures.py"})])
def test_only_one_module_imports(lib, allowed):
    users = {str(p.relative_to(PKG)) for p in _modules() if any(i.split(".")[0] == lib for i in _imports(p))}
    assert users <= allowed


def test_only_the_cli_prints():
    printers = {
        str(p.relative_to(PKG))
        for p in _modules()
        if any(
            isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print" for n in ast.walk(ast.parse(p.read_text()))
        )
    }
    assert printers == {"cli.py"}


@pytest.mark.parametrize("module", CORE)
def test_the_core_does_no_io(module):
    imports = _imports(PKG / module)
    assert not {
        i
        for i in imports
        if i.lstrip(".").split(".")[0] in {"data", "report", "figures", "pipeline", "sample", "cli"}
        or i.startswith("..")
        and i.lstrip(".").split(".")[0] not in {"errors", "_typing"}
    }
