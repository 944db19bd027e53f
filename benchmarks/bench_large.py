"""A million firm-events: wall time, peak memory and firm-events per second of the chunked
engines on a CRSP-shaped synthetic panel.

The panel: 5,000 firms × 7,500 sessions (about 30 years) of market-model returns with an
industry factor (20 industries, so residuals are correlated within an industry), 0.1 % of the
returns missing at random. Events are earnings-like: every firm reports once a quarter (63
sessions) on a firm-specific day of the season (so the reports cluster in seasons), plus other
firm news on random days, 200 events per firm (1,000,000 in all); the first N are taken for a
smaller case. The design: market model, estimation [−250, −11] leaving out the firm's other
events (at least 60 valid days), windows [0,0], [−1,+1], [−5,+5], path [−10,+10], every test
of a sample (GRANK and the calendar-time test included; Corrado–Zivney is named memory-only), the
influence diagnostics and the intervals, no per-day AR frame.

Each case runs ``--repeat`` times (default 3), each time in a fresh process (so every run is a
cold start); the table gives the best wall time and the median (a shared virtual machine's
timings vary by ±10 %), and the largest peak memory: the process's largest resident size
(``resource.getrusage``), the panel included, plus the workers' for Dask. One line per run,
then the table.

Run: ``python benchmarks/bench_large.py [N ...] [--engine auto stream dask] [--chunk C] [--repeat R]``
(default 10000 100000 1000000, ``auto`` and ``dask``). ``auto`` calls ``run_event_study`` with no
engine argument, as issue 34's targets are measured: the default picks the streamed engine at
these sizes, and the table names the engine it picked.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

FIRMS, SESSIONS, PER_FIRM = 5_000, 7_500, 200

CASE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from bench_large import panel, design
returns, regressors, events = panel({n})
setup_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kwargs = design()
scheduler = None
if {engine!r} == "dask":
    from distributed import Client
    from eventstudy.core.distributed import local_cluster
    cluster = local_cluster(2)
    scheduler = Client(cluster)
from eventstudy.core.engine import run_event_study
t0 = time.perf_counter()
if {engine!r} != "auto":  # else no engine argument: the default, which picks the engine by size
    kwargs.update(engine={engine!r}, chunk_size={chunk}, scheduler=scheduler, workers={workers})
res = run_event_study(returns, regressors, events, **kwargs)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = 0
if scheduler is not None:
    workers = max(scheduler.run(lambda: __import__("resource").getrusage(0).ru_maxrss / 1024).values())
kp = res.tests[(res.tests.test == "kolari-pynnonen")]
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "setup_mb": setup_mb, "worker_peak_mb": workers,
    "engine": res.engine, "fitted": len(res.events), "excluded": len(res.excluded), "tests": len(res.tests),
    "kp": kp.stat.round(6).tolist(), "stats": res.tests.stat.round(8).tolist()}}))
"""


def panel(n: int, seed: int = 18):
    """The synthetic panel (returns, the market, events); the first ``n`` events."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("1995-01-02", periods=SESSIONS, name="date")
    mkt = rng.normal(0.0004, 0.011, SESSIONS)
    industry = rng.normal(0, 0.008, (SESSIONS, 20))
    firm_industry = np.arange(FIRMS) % 20
    beta = rng.uniform(0.5, 1.6, FIRMS)
    r = rng.normal(0, 0.02, (SESSIONS, FIRMS))
    r += mkt[:, None] * beta
    r += industry[:, firm_industry]
    r[rng.random(r.shape) < 0.001] = np.nan
    tickers = np.array([f"F{i:05d}" for i in range(FIRMS)])
    returns = pd.DataFrame(r, index=index, columns=tickers)
    # quarterly reports on a firm-specific day of each season, then other news on random days
    quarters = np.arange(270, SESSIONS - 15, 63)
    day = rng.integers(5, 40, FIRMS)
    report = (quarters[None, :] + day[:, None] + rng.integers(-2, 3, (FIRMS, len(quarters)))).clip(270, SESSIONS - 15)
    extra = rng.integers(270, SESSIONS - 15, (FIRMS, PER_FIRM - len(quarters)))
    pos = np.concatenate([report, extra], axis=1)
    pos.sort(axis=1)
    firm = np.repeat(np.arange(FIRMS), PER_FIRM)
    by_time = np.argsort(rng.random(FIRMS * PER_FIRM))  # the file's order: not by firm
    firm, pos = firm[by_time][:n], pos.ravel()[by_time][:n]
    events = pd.DataFrame(
        {"event_id": np.arange(len(firm)).astype(str), "ticker": tickers[firm], "event_date": index[pos]}
    )
    return returns, pd.DataFrame({"mkt": mkt}, index=index), events


def design() -> dict:
    return {
        "windows": [(0, 0), (-1, 1), (-5, 5)],
        "min_estimation_obs": 60,
        "keep_ar": False,
    }


def run_case(n: int, engine: str, chunk: int, workers: int) -> dict:
    code = CASE.format(root=str(Path(__file__).parent), n=n, engine=engine, chunk=chunk, workers=workers)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--engine",
        nargs="*",
        default=["auto", "dask"],
        choices=["auto", "stream", "dask"],
        help="auto: no engine argument, as a user calls it (the engine it picks is printed)",
    )
    parser.add_argument("--chunk", type=int, default=20_000, help="firm-events per chunk (stream and dask)")
    parser.add_argument("--workers", type=int, default=None, help="threads of the streamed engine (default: the cores)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh runs of each case (default 3)")
    args = parser.parse_args(argv)
    rows = []
    for n in args.n:
        for engine in args.engine:
            runs = []
            for _ in range(max(args.repeat, 1)):
                t0 = time.perf_counter()
                got = run_case(n, engine, args.chunk, args.workers)
                runs.append(got)
                print(
                    f"n={n} engine={_name(engine, got)}: {got['seconds']:.2f} s, "
                    f"{n / got['seconds']:,.0f} firm-events/s, "
                    f"peak {got['peak_mb']:,.0f} MB (panel and events {got['setup_mb']:,.0f} MB"
                    + (f"; workers' peak {got['worker_peak_mb']:,.0f} MB" if got["worker_peak_mb"] else "")
                    + f"); {got['fitted']:,} fitted, {got['excluded']:,} exclusion rows; "
                    f"process {time.perf_counter() - t0:.0f} s",
                    flush=True,
                )
            rows.append((n, _name(engine, runs[0]), runs))
    by = {(n, e): runs[0] for n, e, runs in rows}
    for n in args.n:
        here = [e for m, e, _ in rows if m == n and e != "dask"]  # run in this process: stream, or auto's pick
        if here and (n, "dask") in by:
            same = np.allclose(by[n, here[0]]["stats"], by[n, "dask"]["stats"], rtol=1e-6, equal_nan=True)
            best = {e: min(r["seconds"] for r in runs) for m, e, runs in rows if m == n}
            print(f"n={n}: dask / {here[0]} time (best) {best['dask'] / best[here[0]]:.2f}, same statistics: {same}")
    print("| firm-events | engine | wall s (best) | wall s (median) | firm-events/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for n, engine, runs in rows:
        seconds = [r["seconds"] for r in runs]
        peak = max(r["peak_mb"] + 2 * r["worker_peak_mb"] for r in runs)
        best, median = min(seconds), np.median(seconds)
        print(f"| {n:,} | {engine} | {best:.2f} | {median:.2f} | {n / best:,.0f} | {peak:,.0f} |")


def _name(asked: str, got: dict) -> str:
    """The engine as the table names it: ``auto`` with the engine it picked."""
    return f"auto ({got['engine']})" if asked == "auto" else asked


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
