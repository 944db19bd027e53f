"""Time of the main job against the time Python takes only to import its libraries.

Side by side in one run, each in fresh processes (this machine's absolute times vary):

- ``imports``: ``python -c "import pandas, scipy, statsmodels, matplotlib"``;
- ``imports_used``: the modules the job really needs of them
  (``pandas, scipy.stats, statsmodels.api, matplotlib.pyplot``);
- ``main``: ``python -m eventstudy run deepseek-2025 --offline --quiet`` from an empty folder
  (after one untimed run there, which copies the shipped study), figures and report included.

Each is the median of ``--runs`` runs, the three taken in turns (imports, imports_used, main,
then again), so that a slower spell of the machine weighs on all three. Every process may keep
the modules it compiles, as a user's Python does (and pip compiles an installed wheel's):
``PYTHONDONTWRITEBYTECODE`` is dropped, so an editable install's modules are not compiled again
in each timed run while the libraries' are loaded compiled. Then one run in-process, timed by
stage (import, data, quality flags, market values, estimation per benchmark, assembly, results,
figures, report).
Last line: ``main_seconds=… imports_seconds=… imports_used_seconds=… ratio=… ratio_used=…``.

Run: ``python benchmarks/bench_main.py [--runs 5] [--study deepseek-2025]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORTS = "import pandas, scipy, statsmodels, matplotlib"
IMPORTS_USED = "import pandas, scipy.stats, statsmodels.api, matplotlib.pyplot"

STAGES = """
import sys, time
t0 = time.perf_counter()
import eventstudy.study.pipeline as pipeline, eventstudy.report.writer as report, eventstudy.data.quality as quality
stages = {{"import": time.perf_counter() - t0}}

def timed(module, name, label):
    inner = getattr(module, name)
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            stages[label] = stages.get(label, 0.0) + time.perf_counter() - t
    setattr(module, name, wrapper)

for module, name, label in [
    (pipeline, "load_market_data", "data"),
    (pipeline.quality, "price_flags", "quality flags"),
    (pipeline, "stock_values", "market values"),
    (pipeline.Design, "at", "estimation (every benchmark)"),
    (pipeline, "_assemble", "assembly: dollars, claims"),
    (pipeline, "_volume", "abnormal volume"),
    (pipeline, "_volatility", "abnormal volatility"),
    (pipeline, "_long", "long horizons"),
    (report, "write_results", "results CSV"),
    (report.Drawing, "finish", "figures (all drawn in one process)"),
]:
    timed(module, name, label)
t = time.perf_counter()
res = pipeline.run_study({study!r})
path = report.write(res, {out!r})
total = time.perf_counter() - t0
for label, seconds in stages.items():
    print(f"  {{label:32s}} {{seconds:6.2f}} s")
print(f"  {{'in-process total':32s}} {{total:6.2f}} s")
"""


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _seconds(args: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--study", default="deepseek-2025")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        job = [sys.executable, "-m", "eventstudy", "run", a.study, "--offline", "--quiet"]
        _seconds(job, work)  # the first run copies the shipped study into ./analyses/
        commands = {
            "imports": [sys.executable, "-c", IMPORTS],
            "imports_used": [sys.executable, "-c", IMPORTS_USED],
            "main": job,
        }
        times = {name: [] for name in commands}
        for _ in range(a.runs):  # in turns, so that a slower spell of the machine weighs on all three
            for name, args in commands.items():
                times[name].append(_seconds(args, work))
        rows = {name: statistics.median(t) for name, t in times.items()}
        for name, seconds in rows.items():
            print(f"{name:14s} {seconds:6.2f} s (median of {a.runs})")
        print("stages of one run, in-process:")
        out = work / "stages"
        code = STAGES.format(study=str(work / "analyses" / a.study / "study.toml"), out=str(out))
        subprocess.run([sys.executable, "-c", code], cwd=work, check=True, env=ENV)
    print(
        f"main_seconds={rows['main']:.2f} imports_seconds={rows['imports']:.2f} "
        f"imports_used_seconds={rows['imports_used']:.2f} ratio={rows['main'] / rows['imports']:.2f} "
        f"ratio_used={rows['main'] / rows['imports_used']:.2f}"
    )


if __name__ == "__main__":
    main()
