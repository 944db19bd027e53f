"""Size of every test on one event date when the event raises the variance of returns.

Synthetic market-model returns with no event effect, residuals equicorrelated across firms (ρ,
one common shock per day), every firm's event on one date. On the event window the residuals'
variance is multiplied by k_i, drawn per firm from Uniform(1, 3) (doubled on average): the
event moves prices more, in either direction, with no mean effect. ``--tails t4`` draws the
residuals from a Student t(4) (fat tails, as daily returns have) instead of a normal. For each
test its rejection rate at 5 % over D draws, on [0,0] and [-1,+1], with its Clopper–Pearson 95 %
interval; a binomial 95 % band around 5 % at D = 400 is about 3–7 %. ``--scale 1`` leaves the
variance as it is (size), ``--effect A`` adds A to every firm's day-0 return (power).
Prints a Markdown table (the README's).

Run: ``python benchmarks/size_variance.py [--draws D] [--events N] [--rho R] [--scale K] [--effect A]
[--tails normal|t4]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from eventstudy.core.engine import run_event_study
from eventstudy.core.inference import ONE_DATE_TESTS
from eventstudy.core.windows import Window

KW = dict(
    estimation=Window(-120, -11), windows=[Window(0, 0), Window(-1, 1)], path=Window(-5, 5), min_estimation_obs=80
)
DAYS, EVENT = 140, 125


def draw(n: int, rho: float, scale: float, tails: str, seed: int, effect: float = 0.0):
    """One sample: N firms on one date, the event window's residual variance × k_i, k_i ~ U(1, 2·scale − 1)."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2010-01-04", periods=DAYS, name="date")
    mkt = rng.normal(0.0004, 0.01, DAYS)

    def noise(size):
        return rng.standard_t(4, size) / np.sqrt(2.0) if tails == "t4" else rng.normal(size=size)

    eps = 0.02 * (np.sqrt(rho) * noise((DAYS, 1)) + np.sqrt(1 - rho) * noise((DAYS, n)))
    k = rng.uniform(1.0, 2 * scale - 1.0, n)
    eps[EVENT - 1 : EVENT + 2] *= np.sqrt(k)
    eps[EVENT] += effect
    tickers = [f"F{i:04d}" for i in range(n)]
    returns = pd.DataFrame(mkt[:, None] * rng.uniform(0.5, 1.5, n) + eps, index=index, columns=tickers)
    events = pd.DataFrame({"event_id": tickers, "ticker": tickers, "event_date": index[EVENT]})
    return returns, pd.DataFrame({"mkt": mkt}, index=index), events


def rejection_rates(draws: int, n: int, rho: float, scale: float, tails: str, effect: float = 0.0) -> pd.DataFrame:
    hits: dict[tuple[str, str], int] = {}
    for seed in range(draws):
        sample = draw(n, rho, scale, tails, seed, effect)
        res = run_event_study(*sample, tests=ONE_DATE_TESTS, influence=False, **KW)
        for test, window, p in zip(res.tests.test, res.tests.window, res.tests.p, strict=True):
            hits[(test, window)] = hits.get((test, window), 0) + int(p < 0.05)
    rates = pd.Series(hits, dtype=float) / draws
    return rates.unstack()[["[0,0]", "[-1,+1]"]].loc[ONE_DATE_TESTS]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--rho", type=float, default=0.3)
    parser.add_argument("--scale", type=float, default=2.0, help="the mean variance multiple on the event window")
    parser.add_argument("--effect", type=float, default=0.0, help="added to every firm's day-0 return")
    parser.add_argument("--tails", choices=["normal", "t4"], default="normal")
    args = parser.parse_args(argv)
    table = rejection_rates(args.draws, args.events, args.rho, args.scale, args.tails, args.effect)
    print(
        f"Rejection rate at 5 %, one date, N = {args.events}, ρ = {args.rho}, event-window variance × U(1, "
        f"{2 * args.scale - 1:g}), day-0 effect {args.effect:g}, {args.tails} residuals, {args.draws} draws "
        "(Clopper–Pearson 95 % interval)\n"
    )
    print("| test | [0,0] | [-1,+1] |\n|---|---|---|")
    for test, row in table.iterrows():
        cells = [f"{100 * r:.1f} % ({_cp(r, args.draws)})" for r in (row["[0,0]"], row["[-1,+1]"])]
        print(f"| {test} | {cells[0]} | {cells[1]} |")


def clopper_pearson(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact binomial interval of a rejection rate."""
    from scipy import stats

    a = (1 - level) / 2
    lo = stats.beta.ppf(a, hits, n - hits + 1) if hits > 0 else 0.0
    hi = stats.beta.ppf(1 - a, hits + 1, n - hits) if hits < n else 1.0
    return float(lo), float(hi)


def _cp(rate: float, draws: int) -> str:
    lo, hi = clopper_pearson(round(rate * draws), draws)
    return f"{100 * lo:.1f}–{100 * hi:.1f}"


if __name__ == "__main__":
    main()
