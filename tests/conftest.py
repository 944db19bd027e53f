"""Shared fixtures: one seeded generator of synthetic firm-event panels with known answers."""

from __future__ import annotations

import pytest

from .helpers import synthetic_panel


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(scope="module")
def dask_client():
    """A Dask cluster in this process (two single-threaded workers), started before the tests'
    network guard (``distributed`` looks up this host's address when it starts)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


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
