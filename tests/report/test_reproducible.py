"""Every output has one order: permuting the rows of an events file, the groups of a study file and
the tickers within a group, and Python's hash seed, leaves the report, the results and the figures
byte-identical (each run a fresh process, as a user's would be)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from eventstudy.study.workspace import shipped_root

SETTINGS = settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.generate],  # a failing example is reported as drawn: shrinking full runs takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
GROUPS = {"chips": ["NVDA", "AMD", "AVGO", "MU", "INTC"], "software": ["MSFT", "ORCL", "CRM", "ADBE"]}


def _one_date(groups: dict[str, list[str]]) -> str:
    lines = "\n".join(f"{g} = [{', '.join(chr(34) + t + chr(34) for t in ts)}]" for g, ts in groups.items())
    return f"""
[study]
name = "order"
title = "Order"
event_date = 2025-01-27
[model]
estimation = [-150, -11]
windows = [[0, 0], [-1, 1]]
path = [-3, 3]
min_estimation_obs = 100
[groups]
{lines}
"""


def _events() -> pd.DataFrame:
    events = pd.read_csv(shipped_root() / "exdiv-2024" / "events.csv")
    return events[events.ticker.isin(["AAPL", "MSFT", "JPM", "KO", "XOM", "CVX", "PG", "JNJ"])].reset_index(drop=True)


SAMPLE = """
[study]
name = "order-sample"
title = "Order, a sample"
[events]
file = "events.csv"
group_by = ["yield_band"]
characteristics = ["dividend_yield"]
[model]
returns = "price"
estimation = [-120, -11]
windows = [[0, 0], [-1, 1]]
path = [-3, 3]
min_estimation_obs = 80
[groups]
energy = ["XOM", "CVX"]
banks = ["JPM"]
"""


def _run(folder: Path, seed: int) -> dict[str, bytes]:
    """Run the study in ``folder`` in a fresh process with ``PYTHONHASHSEED`` = ``seed``; every
    output file's bytes by its path under the folder."""
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    subprocess.run(
        [sys.executable, "-m", "eventstudy", "run", str(folder), "--offline", "--quiet"],
        check=True,
        env=env,
        cwd=folder.parent,
    )
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in ("study.toml", "events.csv"):
            out[str(path.relative_to(folder))] = path.read_bytes()
    return out


@SETTINGS
@given(
    st.permutations(list(GROUPS)),
    st.randoms(use_true_random=False),
    st.integers(0, 2**31 - 1),
)
def test_a_study_of_one_date_has_one_output_whatever_the_order_of_its_groups(tmp_path_factory, order, rnd, seed):
    base = tmp_path_factory.mktemp("base") / "order"
    base.mkdir()
    (base / "study.toml").write_text(_one_date(GROUPS))
    want = _run(base, 0)
    shuffled = {}
    for g in order:
        tickers = list(GROUPS[g])
        rnd.shuffle(tickers)
        shuffled[g] = tickers
    other = tmp_path_factory.mktemp("other") / "order"
    other.mkdir()
    (other / "study.toml").write_text(_one_date(shuffled))
    got = _run(other, seed)
    assert list(got) == list(want)
    assert [k for k in want if got[k] != want[k]] == []


@SETTINGS
@given(st.randoms(use_true_random=False), st.integers(0, 2**31 - 1))
def test_a_sample_has_one_output_whatever_the_order_of_its_events_file(tmp_path_factory, rnd, seed):
    events = _events()
    base = tmp_path_factory.mktemp("base") / "order-sample"
    base.mkdir()
    (base / "study.toml").write_text(SAMPLE)
    events.to_csv(base / "events.csv", index=False)
    want = _run(base, 0)
    rows = list(range(len(events)))
    rnd.shuffle(rows)
    other = tmp_path_factory.mktemp("other") / "order-sample"
    other.mkdir()
    groups = SAMPLE.split("[groups]")
    (other / "study.toml").write_text(groups[0] + '[groups]\nbanks = ["JPM"]\nenergy = ["CVX", "XOM"]\n')
    events.iloc[rows].to_csv(other / "events.csv", index=False)
    got = _run(other, seed)
    assert list(got) == list(want)
    assert [k for k in want if got[k] != want[k]] == []
