"""The streaming core on Dask: the same chunks as :mod:`eventstudy.core.stream`, run on a cluster's
workers (each partition pinned to one, so its first pass's estimates stay where its second
pass runs), their partial sums added on each worker, then once.

The returns come either as an in-memory frame (sessions × tickers; chunks of whole firms are
scattered to the workers) or as a **parquet panel** read file by file on the workers (so
the panel never has to fit on one machine): a folder of
``part-NNNNN.parquet`` files, each a frame of the same sessions (index ``date``) × some
tickers, every ticker in exactly one file (:mod:`eventstudy.data.panel`: ``write_panel`` writes
one from any frame of returns). The panel comes in as an object (:class:`Panel`) that reads its
own files: nothing here touches the disk.

Needs ``pip install 'eventstudy-workbench[dask]'`` (dask, distributed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from .inference import TestSpec
from .results import CarTable
from .stream.finish import finish, placing, scar_scale
from .stream.first_pass import Estimates, estimate
from .stream.plan import Chunk, Layout, Plan
from .stream.second_pass import Partial, chunk_partial, scar_partial, total


class Panel(Protocol):
    """Returns kept in files and read one file at a time where they lie (on a Dask worker): the
    sessions, each file's tickers, and ``read(file)`` giving that file's sessions × tickers
    (:class:`eventstudy.data.panel.ParquetPanel` is one)."""

    index: pd.DatetimeIndex
    files: tuple[tuple[os.PathLike, tuple[str, ...]], ...]

    def read(self, file: os.PathLike) -> np.ndarray: ...


def _dask():
    try:
        import distributed
    except ImportError:  # pragma: no cover - the message is the point
        raise ImportError(
            "engine='dask' needs dask and distributed: pip install 'eventstudy-workbench[dask]'"
        ) from None
    return distributed


def connect(scheduler):
    """A ``distributed.Client``: the one given, one connected to an address, or one on a new
    LocalCluster of this machine's cores (closed by the caller)."""
    distributed = _dask()
    if isinstance(scheduler, distributed.Client):
        return scheduler, None
    if scheduler:
        return distributed.Client(scheduler), None
    cluster = local_cluster()
    return distributed.Client(cluster), cluster


MALLOC = {"MALLOC_MMAP_THRESHOLD_": 1 << 25, "MALLOC_TRIM_THRESHOLD_": 1 << 28}
"""The workers' malloc settings. Dask sets ``MALLOC_TRIM_THRESHOLD_`` to 64 kB for its workers,
which hands every freed temporary back to the kernel (and fixes glibc's mmap threshold at
128 kB): each block's arrays are then fresh pages again, and the second pass ran 2x slower
here. An mmap threshold of 32 MB and a trim threshold of 256 MB keep them in the heap (the
workers hold up to 256 MB more than they use)."""


def local_cluster(n_workers: int | None = None, **kwargs):
    """A ``distributed.LocalCluster`` of this machine's cores, one single-threaded worker
    process each, whose workers keep glibc's heap for numpy's large temporaries (:data:`MALLOC`).
    Set the same on the workers of a cluster of your own."""
    import dask

    distributed = _dask()
    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in MALLOC.items()}
    with dask.config.set(environ):
        return distributed.LocalCluster(
            n_workers=n_workers or os.cpu_count() or 2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=kwargs.pop("dashboard_address", None),
            **kwargs,
        )


def _first(plan: Plan, returns: np.ndarray | pd.DataFrame, events: Chunk) -> tuple[Estimates, Partial]:
    chunk = _with_returns(events, returns)
    est = estimate(plan, chunk)
    return est, scar_partial(plan, chunk, est)


def _second(plan: Plan, returns, events: Chunk, first, scale) -> Partial:
    return chunk_partial(plan, _with_returns(events, returns), first[0], scale)


def _with_returns(events: Chunk, returns) -> Chunk:
    from dataclasses import replace

    values = returns.to_numpy(dtype="float64") if isinstance(returns, pd.DataFrame) else returns
    return replace(events, returns=values)


def _scar_sums(*firsts) -> Partial:
    return total(first[1] for first in firsts)


def _sums(*parts: Partial) -> Partial:
    return total(Partial(part.sums) for part in parts)


def _frames(part: Partial) -> dict:
    return part.frames


def _tree(client, placed: list[tuple[str | None, object]], add) -> Partial:
    """The sums of the futures of ``placed`` ((worker, future) pairs; ``add`` sums some of
    them): first on each worker over the partials it holds, so that only one partial a worker
    travels, then those in the workers' order. The grouping is the partitions' placement, not
    the run's timing, so the same cluster gives the same bits."""
    by_worker: dict = {}
    for worker, future in placed:
        by_worker.setdefault(worker, []).append(future)
    local = [client.submit(add, *fs, **_on(w)) for w, fs in by_worker.items()]
    return client.submit(total, local).result()


def _on(worker: str | None) -> dict:
    """Run where the partition's returns are, unless that worker is gone."""
    return {} if worker is None else {"workers": [worker], "allow_other_workers": True}


def _partitions(
    layout: Layout, returns, chunk_size: int, client, reach: tuple[int, int]
) -> list[tuple[str | None, object, Chunk]]:
    """(its worker, returns of the partition — a future —, its events as a chunk without
    returns) for every partition: the panel's files, or chunks of whole firms of an in-memory
    frame; the partitions are dealt to the workers in turn."""
    workers = sorted(client.scheduler_info()["workers"]) or [None]
    if not isinstance(returns, pd.DataFrame):
        out = []
        for file, names in returns.files:
            rows = np.flatnonzero(layout.tickers.isin(names))
            if not len(rows):
                continue
            local = pd.Index(names).get_indexer(layout.tickers[rows])
            events = Chunk(
                np.empty((0, 0)),
                local,
                layout.pos[rows],
                rows,
                layout.member[rows],
            )
            w = workers[len(out) % len(workers)]
            out.append((w, client.submit(returns.read, file, **_on(w)), events))
        return out or [(None, client.scatter(np.zeros((len(returns.index), 0))), _empty(layout))]
    values = returns.to_numpy(dtype="float64")
    out = []
    for i, span in enumerate(layout.spans(chunk_size, len(values), reach)):
        chunk = layout.chunk(values, span)
        w = workers[i % len(workers)]
        scattered = client.scatter(chunk.returns, **({} if w is None else {"workers": [w]}))
        out.append((w, scattered, Chunk(np.empty((0, 0)), *_events_of(chunk))))
    return out


def _events_of(chunk: Chunk):
    return chunk.col, chunk.pos, chunk.order, chunk.member


def _empty(layout: Layout) -> Chunk:
    none = np.zeros(0, np.int64)
    return Chunk(np.empty((0, 0)), none, none, none, layout.member[:0])


def run(
    plan: Plan,
    layout: Layout,
    returns: pd.DataFrame | Panel,
    specs: Sequence[TestSpec],
    chunk_size: int,
    scheduler=None,
    side: Callable[[CarTable], object] | None = None,
) -> dict[str, pd.DataFrame]:
    """The result frames, computed on Dask: the first pass on every partition, its s(SCAR)
    summed, the second pass, its sums added (:func:`_tree`), its rows gathered, then the
    frames on the client (``side``: :func:`~eventstudy.core.stream.finish.finish`'s)."""
    client, cluster = connect(scheduler)
    try:
        plan_f = client.scatter(plan, broadcast=True)
        parts = _partitions(layout, returns, chunk_size, client, plan.reach)
        first = [(w, client.submit(_first, plan_f, r, ev, **_on(w))) for w, r, ev in parts]
        scale = None
        if "grank" in plan.tests:
            scale = scar_scale(_tree(client, first, _scar_sums).sums)
        second = [
            (w, client.submit(_second, plan_f, r, ev, f, scale, **_on(w)))
            for (w, r, ev), (_, f) in zip(parts, first, strict=True)
        ]
        # the sums are added on each worker, then once; the rows go to the client once
        out = _tree(client, second, _sums)
        gathered = client.gather([client.submit(_frames, p, **_on(w)) for w, p in second])
        fitted = np.zeros(len(layout.pos), bool)
        fitted[np.concatenate([rows["order"] for frames in gathered for rows in frames["events"]])] = True
        out.frames.update(placing(plan, fitted))
        for frames in gathered:
            out.add(Partial(frames=frames))
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    index = pd.DatetimeIndex(returns.index)
    return finish(plan, out, specs, index, layout, side)
