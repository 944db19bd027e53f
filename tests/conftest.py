"""Shared fixtures: one seeded generator of synthetic firm-event panels with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.core.engine import firm_events


def synthetic_panel(
    n_firms: int = 30,
    n_days: int = 300,
    *,
    event_pos: int = 270,
    injected: float = 0.0,
    rho: float = 0.0,
    seed: int = 0,
    sigma: float = 0.02,
):
    """Market-model returns R = α + β R_m + ε (ε equicorrelated with ``rho`` across firms),
    ``injected`` added to every firm on the event day. Returns (returns, regressors, events)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n_days, name="date")
    mkt = rng.normal(0.0004, 0.01, n_days)
    common = rng.normal(0, 1, (n_days, 1))
    idio = rng.normal(0, 1, (n_days, n_firms))
    eps = sigma * (np.sqrt(rho) * common + np.sqrt(1 - rho) * idio)
    alpha, beta = rng.normal(0, 0.0005, n_firms), rng.uniform(0.5, 1.5, n_firms)
    r = alpha + mkt[:, None] * beta + eps
    r[event_pos] += injected
    tickers = [f"F{i:03d}" for i in range(n_firms)]
    returns = pd.DataFrame(r, index=dates, columns=tickers)
    regressors = pd.DataFrame({"mkt": mkt}, index=dates)
    return returns, regressors, firm_events(tickers, dates[event_pos])


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No test may touch the network: any socket connection fails loudly."""
    import socket

    def refuse(*args, **kwargs):
        raise RuntimeError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(autouse=True)
def own_cache(monkeypatch, tmp_path_factory):
    """Each test its own empty price cache: the user's cache never leaks into a result."""
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(tmp_path_factory.mktemp("cache")))
