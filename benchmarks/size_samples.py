"""Size of every test on samples whose events cluster in calendar time, or do not.

Synthetic market-model returns with no event effect; residuals equicorrelated across firms
(ρ, one common shock per calendar day), so events on one date are correlated and events on
dates far apart are not. Three designs of N firm-events (one firm each): *clustered* (all on
one date), *overlapping* (dates drawn from 10 consecutive sessions: windows share some days)
and *spread* (dates drawn from 500 sessions: windows rarely meet). For each design, each test's
rejection rate at 5 % over D draws, for the window [-1,+1]; a binomial 95 % band around 5 % at
D = 200 is about 2–8 %. Prints a Markdown table (the README's).

Run: ``python benchmarks/size_samples.py [--draws D] [--events N] [--rho R]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from eventstudy.core.engine import run_event_study
from eventstudy.core.inference import TESTS
from eventstudy.core.windows import Window

DESIGNS = {"clustered": 1, "overlapping": 10, "spread": 500}
KW = dict(estimation=Window(-120, -11), windows=[Window(-1, 1)], path=Window(-5, 5), min_estimation_obs=80)


def draw(n: int, spread: int, rho: float, seed: int):
    """One sample: N firms, each with one event on a date drawn from ``spread`` sessions."""
    rng = np.random.default_rng(seed)
    days = 140 + spread
    index = pd.bdate_range("2010-01-04", periods=days, name="date")
    mkt = rng.normal(0.0004, 0.01, days)
    eps = 0.02 * (np.sqrt(rho) * rng.normal(size=(days, 1)) + np.sqrt(1 - rho) * rng.normal(size=(days, n)))
    tickers = [f"F{i:04d}" for i in range(n)]
    returns = pd.DataFrame(mkt[:, None] * rng.uniform(0.5, 1.5, n) + eps, index=index, columns=tickers)
    dates = index[125 + rng.integers(0, spread, n)]
    events = pd.DataFrame({"event_id": tickers, "ticker": tickers, "event_date": dates})
    return returns, pd.DataFrame({"mkt": mkt}, index=index), events


def rejection_rates(design: str, draws: int, n: int, rho: float) -> pd.Series:
    hits: dict[str, int] = {}
    for seed in range(draws):
        returns, regressors, events = draw(n, DESIGNS[design], rho, seed)
        res = run_event_study(returns, regressors, events, tests=list(TESTS), **KW)
        for name, p in zip(res.tests.test, res.tests.p, strict=True):
            hits[name] = hits.get(name, 0) + int(p < 0.05)
    return pd.Series(hits, dtype=float) / draws


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--rho", type=float, default=0.3)
    args = parser.parse_args(argv)
    table = pd.DataFrame({d: rejection_rates(d, args.draws, args.events, args.rho) for d in DESIGNS})
    print(f"Rejection rate at 5 %, window [-1,+1], N = {args.events}, ρ = {args.rho}, {args.draws} draws\n")
    print("| test | " + " | ".join(DESIGNS) + " |")
    print("|---|" + "---|" * len(DESIGNS))
    for test, row in table.reindex(list(TESTS)).iterrows():
        print(f"| {test} | " + " | ".join("–" if np.isnan(v) else f"{100 * v:.1f} %" for v in row) + " |")


if __name__ == "__main__":
    main()
