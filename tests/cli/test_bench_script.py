"""The speed benchmark times like for like: its statsmodels loop gives the batched core's CARs."""

from __future__ import annotations

import importlib.util
import re

import numpy as np

from eventstudy.core.engine import run_event_study

from ..helpers import REPO

SCRIPT = REPO / "benchmarks" / "bench_core.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_core", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loop_computes_what_the_batched_core_computes():
    bench = _bench()
    returns, regressors, events = bench.panel(30, seed=3)
    looped = bench.loop(returns, regressors, events)
    car = run_event_study(returns, regressors, events).car
    batched = car[["car", "t", "p"]].to_numpy().reshape(looped.shape)
    np.testing.assert_allclose(batched, looped, rtol=1e-10, atol=1e-14)


def test_last_line_is_machine_readable(capsys):
    _bench().main(60)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"speedup=\d+\.\d batched_seconds=\d+\.\d{3}", last)


def test_the_main_benchmark_times_stages_that_exist():
    """bench_main.py wraps functions by name to time the stages: each must still be there."""
    import importlib

    text = (REPO / "benchmarks" / "bench_main.py").read_text()
    modules = {
        "pipeline": importlib.import_module("eventstudy.study.pipeline"),
        "report": importlib.import_module("eventstudy.report.writer"),
    }
    found = re.findall(r"\((pipeline|report)(\.\w+)?, \"(\w+)\", \"", text)
    assert len(found) >= 8
    for module, attr, name in found:
        owner = modules[module]
        if attr:
            owner = getattr(owner, attr[1:])
        assert hasattr(owner, name), f"{module}{attr}.{name}"


def test_the_placebo_benchmark_runs_and_finds_the_same_draws_on_one_and_two_workers():
    """bench_placebo.py's synthetic case on a small sample: its draws on one process and on two
    are the same (the column its table reports), and it says how many draws it ran."""
    spec = importlib.util.spec_from_file_location("bench_placebo", REPO / "benchmarks" / "bench_placebo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.synthetic_case(300, 10, [1, 2])
    assert [(r[1], r[2], r[4]) for r in rows] == [(1, 10, True), (2, 10, True)]
