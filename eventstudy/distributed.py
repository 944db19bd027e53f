"""The streaming core on Dask: the same chunks as :mod:`eventstudy.stream`, run on a cluster's
workers, their partial sums added in a tree.

The returns come either as an in-memory frame (sessions × tickers; chunks of whole firms are
scattered to the workers) or as a **parquet panel** read partition by partition on the
workers with ``dask.dataframe`` (so the panel never has to fit on one machine): a folder of
``part-NNNNN.parquet`` files, each a frame of the same sessions (index ``date``) × some
tickers, every ticker in exactly one file. :func:`write_panel` writes one from any frame of
returns (the snapshot's, the cache's, or a CSV's via :func:`read_returns_csv`).

Needs ``pip install 'eventstudy-toolkit[dask]'`` (dask, distributed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .inference import TestSpec
from .stream import Chunk, Estimates, Layout, Partial, Plan, chunk_partial, estimate, finish, scar_partial, scar_scale

PART = "part-{:05d}.parquet"


def _dask():
    try:
        import distributed
    except ImportError:  # pragma: no cover - the message is the point
        raise ImportError("engine='dask' needs dask and distributed: pip install 'eventstudy-toolkit[dask]'") from None
    return distributed


@dataclass(frozen=True)
class ParquetPanel:
    """A parquet panel of returns (see the module's docstring): its sessions, and each file's
    tickers, read from the files' metadata (no returns are read here)."""

    path: Path
    index: pd.DatetimeIndex
    files: tuple[tuple[Path, tuple[str, ...]], ...]

    @classmethod
    def open(cls, path: str | os.PathLike) -> ParquetPanel:
        import pyarrow.parquet as pq

        path = Path(path)
        files = sorted(path.glob("part-*.parquet"))
        if not files:
            raise FileNotFoundError(f"{path} holds no part-*.parquet files: no returns panel (write_panel makes one)")
        parts, seen = [], {}
        for f in files:
            names = tuple(n for n in pq.read_schema(f).names if n != "date" and not n.startswith("__index"))
            for n in names:
                if n in seen:
                    raise ValueError(f"ticker {n!r} is in both {seen[n].name} and {f.name}: a panel holds it once")
                seen[n] = f
            parts.append((f, names))
        index = pd.DatetimeIndex(pd.read_parquet(files[0], columns=[]).index, name="date")
        return cls(path, index, tuple(parts))

    @property
    def columns(self) -> pd.Index:
        return pd.Index([t for _, names in self.files for t in names])


def write_panel(returns: pd.DataFrame, path: str | os.PathLike, tickers_per_file: int = 500) -> ParquetPanel:
    """Write ``returns`` (sessions × tickers, decimals, NaN = missing) as a parquet panel in
    the folder ``path`` (created; files of an earlier panel there are replaced), about
    ``tickers_per_file`` tickers to a file. Each file is written under a temporary name and
    renamed, so a panel cut short by a crash has no half-written file."""
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("write_panel takes a DataFrame of returns indexed by session date (sessions × tickers)")
    if returns.columns.duplicated().any():
        raise ValueError(f"tickers repeat: {list(returns.columns[returns.columns.duplicated()][:5])}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("part-*.parquet"):
        old.unlink()
    frame = returns.astype("float64").rename_axis("date")
    frame.columns = frame.columns.astype(str)
    for i, lo in enumerate(range(0, max(frame.shape[1], 1), max(tickers_per_file, 1))):
        tmp = path / (PART.format(i) + ".tmp")
        frame.iloc[:, lo : lo + tickers_per_file].to_parquet(tmp)
        tmp.replace(path / PART.format(i))
    return ParquetPanel.open(path)


def read_returns_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Returns from a CSV: wide (a ``date`` column, then one column per ticker) or long
    (``date, ticker, ret``), as sessions × tickers."""
    frame = pd.read_csv(path)
    if "date" not in frame.columns:
        raise ValueError(f"{path}: a returns CSV needs a 'date' column; got {list(frame.columns)[:6]}")
    frame["date"] = pd.to_datetime(frame["date"])
    if {"ticker", "ret"} <= set(frame.columns):
        if frame.duplicated(["date", "ticker"]).any():
            raise ValueError(f"{path}: a (date, ticker) pair appears twice")
        return frame.pivot(index="date", columns="ticker", values="ret").sort_index()
    return frame.set_index("date").sort_index().astype("float64")


def _client(scheduler):
    """A ``distributed.Client``: the one given, one connected to an address, or one on a new
    LocalCluster of this machine's cores (closed by the caller)."""
    distributed = _dask()
    if isinstance(scheduler, distributed.Client):
        return scheduler, None
    if scheduler:
        return distributed.Client(scheduler), None
    cluster = local_cluster()
    return distributed.Client(cluster), cluster


def local_cluster(n_workers: int | None = None, **kwargs):
    """A ``distributed.LocalCluster`` of this machine's cores, one single-threaded worker
    process each, whose workers keep glibc's heap for numpy's large temporaries: Dask sets
    ``MALLOC_TRIM_THRESHOLD_`` for its workers, which turns every temporary above 128 kB into a
    fresh ``mmap`` (measured twice as slow here); ``MALLOC_MMAP_THRESHOLD_`` at 32 MB undoes
    that. Set the same on the workers of a cluster of your own."""
    import dask

    distributed = _dask()
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 1 << 25}):
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


def _scar(first) -> Partial:
    return first[1]


def _sums(part: Partial) -> Partial:
    return Partial(part.sums)


def _frames(part: Partial) -> dict:
    return part.frames


def _combine(a: Partial, b: Partial) -> Partial:
    return a.combine(b)


def _tree(client, futures: list):
    """Add partial sums pairwise, level by level, on the workers."""
    while len(futures) > 1:
        pairs = [client.submit(_combine, futures[i], futures[i + 1]) for i in range(0, len(futures) - 1, 2)]
        futures = pairs + ([futures[-1]] if len(futures) % 2 else [])
    return futures[0]


def _partitions(layout: Layout, returns, chunk_size: int, client) -> list[tuple[object, Chunk]]:
    """(returns of the partition — a future —, its events as a chunk without returns) for
    every partition: the panel's files, or chunks of whole firms of an in-memory frame."""
    if isinstance(returns, ParquetPanel):
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
            out.append((client.submit(_read_part, str(file), returns.index), events))
        return out or [(client.scatter(np.zeros((len(returns.index), 0))), _empty(layout))]
    values = returns.to_numpy(dtype="float64")
    out = []
    for span in layout.spans(chunk_size, len(values)):
        chunk = layout.chunk(values, span)
        out.append((client.scatter(chunk.returns), Chunk(np.empty((0, 0)), *_events_of(chunk))))
    return out


def _read_part(file: str, index: pd.DatetimeIndex) -> np.ndarray:
    """One file of a parquet panel, read on a worker, as sessions × tickers; its sessions must
    be the panel's."""
    frame = pd.read_parquet(file)
    if not pd.DatetimeIndex(frame.index).equals(index):
        raise ValueError(f"{file}: its sessions differ from the panel's first file (write_panel keeps them equal)")
    return frame.to_numpy(dtype="float64")


def _events_of(chunk: Chunk):
    return chunk.col, chunk.pos, chunk.order, chunk.member


def _empty(layout: Layout) -> Chunk:
    none = np.zeros(0, np.int64)
    return Chunk(np.empty((0, 0)), none, none, none, layout.member[:0])


def run(
    plan: Plan,
    layout: Layout,
    returns: pd.DataFrame | ParquetPanel,
    specs: Sequence[TestSpec],
    chunk_size: int,
    scheduler=None,
) -> dict[str, pd.DataFrame]:
    """The result frames, computed on Dask: the first pass on every partition, its s(SCAR)
    added in a tree, the second pass, its sums added in a tree, its rows gathered, then the
    frames on the client."""
    client, cluster = _client(scheduler)
    try:
        plan_f = client.scatter(plan, broadcast=True)
        parts = _partitions(layout, returns, chunk_size, client)
        first = [client.submit(_first, plan_f, r, ev) for r, ev in parts]
        scale = None
        if "grank" in plan.tests:
            scale = scar_scale(_tree(client, [client.submit(_scar, f) for f in first]).result().sums)
        second = [client.submit(_second, plan_f, r, ev, f, scale) for (r, ev), f in zip(parts, first, strict=True)]
        # the sums are added in a tree on the workers; the rows go to the client once
        total = _tree(client, [client.submit(_sums, p) for p in second]).result()
        for frames in client.gather([client.submit(_frames, p) for p in second]):
            total = total.combine(Partial(frames=frames))
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    index = returns.index if isinstance(returns, ParquetPanel) else pd.DatetimeIndex(returns.index)
    return finish(plan, total, specs, index, layout)
