"""The layering the README promises, checked on the source: each layer is a folder, imports go
down only, there is no circle, no module is longer than a reader can hold, and the public names
are one list. The rules are written once, here."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import REPO

PKG = REPO / "eventstudy"
ROOT = PKG.parent

# the layers, bottom up: a module may import from its own layer and the ones below
LAYERS = ["base", "core", "data", "study", "report", "top"]
BASE = {"eventstudy.errors", "eventstudy._typing", "eventstudy._version"}
TOP = {"eventstudy", "eventstudy.api", "eventstudy.cli", "eventstudy.arguments", "eventstudy.__main__"}
# within the report: it reads results, it never runs an analysis
RUNS_AN_ANALYSIS = {"eventstudy.study.pipeline", "eventstudy.study.sample", "eventstudy.core.engine"}
MAX_LINES = 500


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PKG.rglob("*.py")) if "snapshot" not in p.parts}


def layer(module: str) -> str:
    if module in BASE:
        return "base"
    if module in TOP:
        return "top"
    return module.split(".")[1]


def imports(module: str) -> set[str]:
    """Every eventstudy module ``module`` imports, at the top or inside a function."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("eventstudy"):
                continue
            for alias in node.names:  # `from . import x` imports the module x
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("eventstudy")}
    return {m for m in out if m in MODULES and m != module}


def test_every_module_lies_in_a_layer():
    assert {layer(m) for m in MODULES} <= set(LAYERS)
    assert not [m for m in MODULES if layer(m) == "eventstudy"]  # nothing loose at the top


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down(module):
    here = LAYERS.index(layer(module))
    upward = sorted(m for m in imports(module) if LAYERS.index(layer(m)) > here)
    assert not upward, f"{module} ({layer(module)}) imports from a layer above: {upward}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) == "report"))
def test_the_report_never_runs_an_analysis(module):
    assert not imports(module) & RUNS_AN_ANALYSIS


def test_no_import_circle():
    graph = {m: imports(m) for m in MODULES}
    circles = []
    for start in graph:  # a path from a module back to itself
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" -> ".join((*path, nxt)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    # a package's __init__ re-exporting its own modules is not a circle of code
    circles = [c for c in circles if not _reexport(c)]
    assert not circles, circles[:5]


def _reexport(circle: str) -> bool:
    steps = circle.split(" -> ")
    return any(MODULES[s].name == "__init__.py" and layer(s) != "top" for s in steps)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_500_lines(module):
    n = len(MODULES[module].read_text().splitlines())
    assert n <= MAX_LINES, f"{module}: {n} lines; split it by responsibility"


@pytest.mark.parametrize("folder", ["core", "data", "study", "report"])
def test_each_layer_says_what_it_holds_and_may_import(folder):
    doc = ast.get_docstring(ast.parse((PKG / folder / "__init__.py").read_text())) or ""
    assert len(doc) > 100 and "import" in doc


@pytest.mark.parametrize("lib, allowed", [("yfinance", {"data/sources.py"}), ("matplotlib", {"report/figures.py"})])
def test_only_one_module_imports(lib, allowed):
    users = {
        str(p.relative_to(PKG))
        for m, p in MODULES.items()
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            (a.name if isinstance(node, ast.Import) else node.module or "").split(".")[0] == lib for a in node.names
        )
    }
    assert users <= allowed


def test_only_the_cli_prints():
    printers = {
        str(p.relative_to(PKG))
        for p in MODULES.values()
        if any(
            isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print" for n in ast.walk(ast.parse(p.read_text()))
        )
    }
    assert printers == {"cli.py"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) == "core"))
def test_the_core_does_no_io(module):
    """No file, no network: the core's inputs come in as frames or objects that read themselves."""
    text = MODULES[module].read_text()
    assert not re.search(r"\bopen\(|read_parquet|read_csv|to_parquet|to_csv|write_text|read_text|\bPath\(", text)


def test_the_public_names_are_one_list_and_all_resolve():
    import eventstudy as es
    from eventstudy import api

    assert es.__all__ is api.__all__ and len(set(api.__all__)) == len(api.__all__)
    assert all(getattr(es, name) is getattr(api, name) for name in api.__all__)
    init = ast.parse((PKG / "__init__.py").read_text())
    loaded = [n.module for n in init.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert loaded == ["_version"]  # `import eventstudy` loads nothing else


def test_a_submodule_imported_from_the_package_loads_it_alone():
    """``from eventstudy import cli`` asks the package for ``cli`` first: that must not load the
    public API (every layer, about a second) on the way to the module."""
    code = "import sys; from eventstudy import cli, core; print('eventstudy.api' in sys.modules, cli.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "eventstudy.cli"]


def test_the_public_api_loads_statsmodels_only_for_a_second_stage():
    """statsmodels (and scipy.stats with it) takes about 0.6 s to import: ``es.run_event_study``
    and the rest of the API must not cost that until a second stage is run."""
    code = (
        "import sys, eventstudy as es; es.run_event_study; "
        "print('statsmodels' in sys.modules, 'scipy.stats' in sys.modules); "
        "from eventstudy.study.secondstage import _statsmodels; _statsmodels(); print('statsmodels' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True"]


def test_the_readme_python_examples_use_the_public_api():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks
    internal = [line for b in blocks for line in b.splitlines() if re.match(r"\s*(from|import) eventstudy\.", line)]
    assert not internal, internal
    assert all("import eventstudy as es" in b for b in blocks if re.search(r"\bes\.", b))


def test_every_folder_of_the_package_is_one_the_wheel_lists():
    """Each folder under ``eventstudy/`` (code, or data such as the snapshot) is in pyproject's
    ``packages``: a folder of code left out is missing from the wheel, a folder of data left out
    makes setuptools warn on every install that it "would be ignored"."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(p.relative_to(ROOT).parts)
        for p in [PKG, *PKG.rglob("*")]
        if p.is_dir() and p.name != "__pycache__" and "__pycache__" not in p.parts
    }
    assert folders - listed == set()
