"""Placebo draws per second, on one process and spread over worker processes, and whether the
draws are the same bit for bit whatever the workers.

For each study (shipped ones, offline): the study is run once (untimed), then its placebo with
``--draws`` draws and the seed 2025, once per worker count, each timed from the call to
:func:`eventstudy.study.placebo.run_placebo` to its return (the design's data read included).
The draws a study allows are capped by its data (deepseek-2025: 253 pseudo-event dates within
two years of sessions either side of the event), so the table gives the draws run. ``--synthetic
N`` adds a synthetic sample of N firm-events on many dates (the core's streamed engine runs each
draw of more than 2,000 events).

Run: ``python benchmarks/bench_placebo.py [--studies deepseek-2025 exdiv-2024] [--draws 1000]
[--workers 1 2] [--synthetic N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd


def study_case(name: str, draws: int, workers: list[int]) -> list[tuple]:
    from eventstudy.study.pipeline import run_study
    from eventstudy.study.placebo import run_placebo
    from eventstudy.study.studyfile import load_study

    study = load_study(name)
    real = run_study(study, offline=True)
    return _on_workers(name, workers, lambda w: run_placebo(study, draws, 2025, real=real, offline=True, workers=w))


def synthetic_case(n: int, draws: int, workers: list[int]) -> list[tuple]:
    """A sample of ``n`` firm-events (bench_samples' panel: one firm per event, 0.1 % missing)
    shifted ``draws`` times."""
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_samples import sample

    from eventstudy.core.engine import Design, run_event_study
    from eventstudy.study.placebo import draw_sample_placebo

    returns, regressors, events = sample(n, max(n // 50, 1), missing=0.001)
    design = Design(returns, regressors, min_estimation_obs=200, influence=False, intervals=False)
    real = run_event_study(returns, regressors, events, min_estimation_obs=200, influence=False)
    return _on_workers(
        f"synthetic {n:,}", workers, lambda w: draw_sample_placebo(design, events, draws, 2025, real.tests, workers=w)
    )


def _on_workers(label: str, workers: list[int], placebo) -> list[tuple]:
    """``placebo(w)`` timed on each number of workers, with whether its draws are the first's."""
    rows, first = [], None
    for w in workers:
        t0 = time.perf_counter()
        res = placebo(w)
        seconds = time.perf_counter() - t0
        same = True if first is None else res.draws.equals(first)
        first = res.draws if first is None else first
        rows.append((label, w, res.n_draws, seconds, same))
        print(f"{label}: {res.n_draws} draws on {w} worker(s) in {seconds:.1f} s, same draws: {same}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="*", default=["deepseek-2025", "exdiv-2024"])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--workers", nargs="*", type=int, default=[1, os.cpu_count() or 2])
    parser.add_argument("--synthetic", nargs="*", type=int, default=[], help="firm-events of synthetic samples")
    parser.add_argument("--synthetic-draws", type=int, default=200)
    args = parser.parse_args()
    rows = []
    for name in args.studies:
        rows += study_case(name, args.draws, args.workers)
    for n in args.synthetic:
        rows += synthetic_case(n, args.synthetic_draws, args.workers)
    table = pd.DataFrame(rows, columns=["study", "workers", "draws", "seconds", "same"])
    table["draws_per_s"] = np.round(table.draws / table.seconds, 1)
    print("| study | workers | draws | seconds | draws/s | same draws as 1 worker |")
    print("|---|---|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.study} | {r.workers} | {r.draws:,} | {r.seconds:.1f} | {r.draws_per_s} | {r.same} |")


if __name__ == "__main__":
    main()
