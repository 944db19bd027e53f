"""Time and peak memory of the core for samples of firm-events on one date and on many.

Synthetic data (market model, estimation [-250,-11], the default windows, path [-10,+10], every
test of the sample): N firm-events on one common date, and the same N spread over D dates
(N / D events per date, one firm per event, so no firm has two events). Peak memory is the
largest resident size of a fresh process per case during the run, less its resident size before
it: on Linux the high-water mark is reset before the run (``/proc/self/clear_refs``), as the
making of a large sample peaks higher than the run (100,000 events: 0 MB was printed before);
elsewhere the process's largest resident size (``resource.getrusage``). One line per case, then
``one_date_seconds=… spread_seconds=… spread_peak_mb=…`` for the last N.

Run: ``python benchmarks/bench_samples.py [N ...] [--dates D] [--missing M]`` (default 10000 on
2000 dates, nothing missing).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

CASE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from bench_samples import sample
from eventstudy.core.engine import run_event_study
returns, regressors, events = sample({n}, {dates}, missing={missing})
def status(field):  # kB, from Linux's /proc
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
try:
    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the high-water mark from here on
    peak_kb = lambda: status("VmHWM")
except OSError:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_kb = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
res = run_event_study(returns, regressors, events, min_estimation_obs=200)
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "peak_mb": (peak_kb() - before) / 1024, "tests": len(res.tests)}}))
"""


def sample(n: int, dates: int, seed: int = 0, days: int = 800, missing: float = 0.0):
    """N firm-events, one firm each, over ``dates`` event dates inside ``days`` sessions; a
    share ``missing`` of the returns missing at random."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2015-01-01", periods=days, name="date")
    mkt = rng.normal(0.0004, 0.01, days)
    tickers = [f"F{i:06d}" for i in range(n)]
    r = mkt[:, None] * rng.uniform(0.5, 1.5, n) + rng.normal(0, 0.02, (days, n))
    r[rng.random(r.shape) < missing] = np.nan
    returns = pd.DataFrame(r, index=index, columns=tickers)
    pool = index[260 : days - 15]
    chosen = pool[np.linspace(0, len(pool) - 1, dates).astype(int)] if dates > 1 else pool[[len(pool) // 2]]
    events = pd.DataFrame({"event_id": tickers, "ticker": tickers, "event_date": chosen[np.arange(n) % len(chosen)]})
    return returns, pd.DataFrame({"mkt": mkt}, index=index), events


def run_case(n: int, dates: int, missing: float = 0.0) -> dict:
    from pathlib import Path

    code = CASE.format(root=str(Path(__file__).parent), n=n, dates=dates, missing=missing)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="*", type=int, default=[10_000])
    parser.add_argument("--dates", type=int, default=2000)
    parser.add_argument("--missing", type=float, default=0.0, help="share of returns missing at random")
    args = parser.parse_args(argv)
    last = {}
    for n in args.n:
        for dates in (1, args.dates):
            t0 = time.perf_counter()
            got = run_case(n, dates, args.missing)
            print(
                f"n={n} dates={dates} missing={args.missing:g}: {got['seconds']:.2f} s, "
                f"peak {got['peak_mb']:.0f} MB above the start "
                f"({got['tests']} test rows; process {time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            last[dates] = got
    print(
        f"one_date_seconds={last[1]['seconds']:.3f} spread_seconds={last[args.dates]['seconds']:.3f} "
        f"spread_peak_mb={last[args.dates]['peak_mb']:.0f}"
    )


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
