"""Firm-events per second: the core (``run_event_study`` with no engine argument, which at 10,000
firm-events picks the streamed engine) vs. a per-firm statsmodels loop.

10,000 synthetic firm-events (250-day estimation window, 21-day path [-10,+10], the default
event windows, every test of the core) sharing one event date. The loop fits each firm with
``statsmodels.OLS`` and computes AR, CAR and the prediction-error variance per firm, then the
group statistics on the collected arrays, vectorised. Both are timed best of three. Last line:
``speedup=<ratio> batched_seconds=<s>``.

Run: ``python benchmarks/bench_core.py [n_firm_events]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from eventstudy.core.engine import firm_events, run_event_study
from eventstudy.core.windows import DEFAULT_WINDOWS


def panel(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=280, name="date")
    mkt = rng.normal(0.0004, 0.01, len(dates))
    r = mkt[:, None] * rng.uniform(0.5, 1.5, n) + rng.normal(0, 0.02, (len(dates), n))
    tickers = [f"F{i:05d}" for i in range(n)]
    return (
        pd.DataFrame(r, index=dates, columns=tickers),
        pd.DataFrame({"mkt": mkt}, index=dates),
        firm_events(tickers, dates[265]),
    )


def loop(returns: pd.DataFrame, regressors: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """The per-firm loop a researcher writes: statsmodels OLS per firm on pandas data, the
    prediction-error covariance from ``normalized_cov_params``, CAR/t/p per window; then the
    same seven group tests on the collected arrays (vectorised, as they would be). Returns
    the CAR, t and p of each firm and window (firms × windows × 3)."""
    path, est = range(-10, 11), range(-250, -10)
    pos = returns.index.get_loc(events.event_date.iloc[0])
    x_path = sm.add_constant(regressors.mkt.iloc[pos - 10 : pos + 11])
    x_est = sm.add_constant(regressors.mkt.iloc[pos - 250 : pos - 10])
    resid, ars, cars = [], [], []
    for t in events.ticker:
        res = sm.OLS(returns[t].iloc[pos - 250 : pos - 10], x_est, missing="drop").fit()
        ar = returns[t].iloc[pos - 10 : pos + 11].to_numpy() - res.predict(x_path).to_numpy()
        v = res.scale * (np.eye(len(path)) + x_path.values @ res.normalized_cov_params.values @ x_path.values.T)
        for w in DEFAULT_WINDOWS:
            i = slice(w.start + 10, w.end + 11)
            car, var = ar[i].sum(), v[i, i].sum()
            cars.append((car, car / np.sqrt(var), 2 * stats.t.sf(abs(car / np.sqrt(var)), res.df_resid)))
        resid.append(res.resid.to_numpy())
        ars.append(ar)
    e, a = np.array(resid), np.array(ars)
    scar = np.array(cars)[:, 1].reshape(len(e), -1)
    rbar = (np.corrcoef(e).sum() - len(e)) / (len(e) * (len(e) - 1))
    ranks = stats.rankdata(np.hstack([e, a]), axis=1) / (1 + len(est) + len(path))
    for j in range(scar.shape[1]):
        _ = (
            scar[:, j].mean()
            / scar[:, j].std(ddof=1)
            * np.sqrt(len(e))
            * np.sqrt((1 - rbar) / (1 + (len(e) - 1) * rbar))
        )
    _ = ranks.mean(axis=0), np.hstack([e, a]).mean(axis=0), (e > 0).mean()
    return np.array(cars).reshape(len(e), -1, 3)


def best_of_three(func, *args) -> float:
    """Seconds of the fastest of three calls, as timeit reports."""
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        func(*args)
        runs.append(time.perf_counter() - t0)
    return min(runs)


def main(n: int = 10_000) -> None:
    returns, regressors, events = panel(n)
    run_event_study(returns.iloc[:, :50], regressors, events.iloc[:50])  # warm-up
    batched = best_of_three(run_event_study, returns, regressors, events)
    m = min(n, 1000)  # the loop is timed on a subset and scaled: it is linear in firms
    looped = best_of_three(loop, returns.iloc[:, :m], regressors, events.iloc[:m]) * n / m
    print(f"batched: {n / batched:,.0f} firm-events/s ({batched:.3f} s for {n:,})")
    print(f"statsmodels loop: {n / looped:,.0f} firm-events/s ({looped:.1f} s for {n:,}, from {m:,} timed)")
    print(f"speedup={looped / batched:.1f} batched_seconds={batched:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
