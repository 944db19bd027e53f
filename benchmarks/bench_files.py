"""Time and peak memory of a study reading its own data from a large CRSP-shaped file.

Writes (once, into a folder kept between runs) a long parquet file in CRSP's legacy daily
layout — PERMNO, DATE, RET, PRC, VOL, SHROUT; ``FIRMS`` securities × ``DAYS`` NYSE sessions,
30 million rows by default, sorted by PERMNO and date as WRDS writes it, synthetic returns —
and a market file. Then, in fresh processes (median of ``--repeat``):

- ``read``: the data of a 500-firm one-date study (its estimation window, windows and path:
  about 280 sessions) read from the file, checked and laid out (:func:`load_files`);
- ``study``: the whole study (``es.run_study``: read, fit, tests, dollars; no report written).

Peak memory is the largest resident size of the process (``resource.getrusage``) less that before
the step. Target (issue 32): read < 5 s and < 1 GB on the 2-core machine.

Run: ``python benchmarks/bench_files.py [--rows 30000000] [--firms 500] [--repeat 3] [--folder DIR]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from eventstudy.core.calendar import sessions

EVENT = "2019-03-15"

CASE = """
import json, resource, time
import pandas as pd
import eventstudy as es
from eventstudy.data.files import DataSpec, load_files
from pathlib import Path
folder = Path({folder!r})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if {step!r} == "read":
    ids = [str(10000 + 7 * i) for i in range({firms})]
    spec = DataSpec(returns=folder / "dsf.parquet", market=folder / "dsi.parquet")
    got = load_files(spec, ids, pd.Timestamp("2018-03-08"), pd.Timestamp("2019-04-15"), "XNYS")
    n = int(got.returns.notna().sum().sum())
else:
    res = es.run_study(str(folder / "study.toml"))
    n = len(res.main.events)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mb": (peak - before) / 1024, "n": n}}))
"""


def write_files(folder: Path, rows: int, firms: int) -> None:
    """The long file (in row groups, never whole in memory), the market file and a study."""
    days = sessions("2000-01-03", "2030-12-31")
    n_firms = 6000
    n_days = rows // n_firms
    days = days[days <= pd.Timestamp("2019-12-31")][-n_days:]
    path = folder / "dsf.parquet"
    if not path.exists():
        schema = pa.schema(
            [("PERMNO", pa.int32()), ("DATE", pa.date32()), ("RET", pa.float64()), ("PRC", pa.float64()),
             ("VOL", pa.float64()), ("SHROUT", pa.float64())]
        )  # fmt: skip
        rng = np.random.default_rng(0)
        market = rng.normal(0.0004, 0.01, len(days))
        with pq.ParquetWriter(folder / "dsf.tmp", schema) as writer:
            for lo in range(0, n_firms, 200):
                k = min(200, n_firms - lo)
                beta = rng.uniform(0.5, 1.5, k)
                ret = market[None, :] * beta[:, None] + rng.normal(0, 0.02, (k, len(days)))
                table = pa.table(
                    {
                        "PERMNO": np.repeat(10000 + np.arange(lo, lo + k), len(days)).astype("int32"),
                        "DATE": np.tile(days.to_numpy().astype("datetime64[D]"), k),
                        "RET": ret.ravel(),
                        "PRC": np.tile(np.linspace(20, 40, len(days)), k),
                        "VOL": np.full(k * len(days), 1e6),
                        "SHROUT": np.full(k * len(days), 5e4),
                    },
                    schema=schema,
                )
                writer.write_table(table, row_group_size=1_000_000)
        (folder / "dsf.tmp").rename(path)
        pd.DataFrame({"date": days, "vwretd": market}).to_parquet(folder / "dsi.parquet", index=False)
    ids = ", ".join(f'"{10000 + 7 * i}"' for i in range(firms))
    (folder / "study.toml").write_text(
        f'[study]\nname = "bench"\ntitle = "bench"\nevent_date = {EVENT}\n\n[data]\nreturns = "dsf.parquet"\n'
        f'market = "dsi.parquet"\n\n[model]\nbenchmark = "vwretd"\n\n[groups]\nall = [{ids}]\n'
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=30_000_000)
    ap.add_argument("--firms", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "eventstudy-bench-files")
    a = ap.parse_args()
    a.folder.mkdir(parents=True, exist_ok=True)
    write_files(a.folder, a.rows, a.firms)
    size = (a.folder / "dsf.parquet").stat().st_size
    rows = pq.ParquetFile(a.folder / "dsf.parquet").metadata.num_rows
    print(f"file: {rows:,} rows, {size / 1e6:.0f} MB; study: {a.firms} firms, event {EVENT}")
    for step in ("read", "study"):
        runs = []
        for _ in range(a.repeat):
            code = CASE.format(folder=str(a.folder), step=step, firms=a.firms)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        secs = [r["seconds"] for r in runs]
        peak = max(r["peak_mb"] for r in runs)
        print(
            f"{step:5s}: median {statistics.median(secs):.2f} s (range {min(secs):.2f}–{max(secs):.2f}), "
            f"peak {peak:.0f} MB, n={runs[0]['n']}"
        )


if __name__ == "__main__":
    main()
