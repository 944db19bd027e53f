"""Abnormal trading volume (METHODS.md §1): log turnover by hand, an injected doubling found,
per-firm OLS on the market's log turnover as the second implementation, firms without volume
excluded with their reason, and a study on files that carry volume and shares."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import eventstudy as es
from eventstudy.core.engine import firm_events
from eventstudy.core.windows import Window
from eventstudy.study.volume import C, VolumeSpec, log_turnover, run_volume

from ..helpers import REPO

DESIGN = dict(
    estimation=Window(-120, -11), windows=(Window(0, 0), Window(-1, 1)), path=Window(-5, 5), min_estimation_obs=80
)


def test_log_turnover_by_hand():
    vol = pd.DataFrame({"A": [1e6, 0.0, np.nan, 2e6]})
    shares = pd.DataFrame({"A": [1e8, 1e8, 1e8, 0.0]})
    v = log_turnover(vol, shares).A
    assert v[0] == pytest.approx(np.log(1.0 + C))  # 1 % turnover: ln(1.000255)
    assert v[1] == pytest.approx(np.log(C)) and np.isfinite(v[1])  # no trade: ln c = −8.27425, kept
    assert np.isnan(v[2]) and np.isnan(v[3])  # no volume, or no share count: unknown


DOUBLING = float(np.log(2.0))


def _panel(n=25, days=160, day0=140, effect=DOUBLING, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2023-01-02", periods=days, name="date")
    vm = rng.normal(-0.5, 0.3, days)
    a, b = rng.normal(0, 0.5, n), rng.uniform(0.5, 1.5, n)
    v = a[None, :] + b[None, :] * vm[:, None] + rng.normal(0, 0.2, (days, n))
    v[day0, :] += effect
    cols = [f"F{i:02d}" for i in range(n)]
    return pd.DataFrame(v, index, cols), pd.Series(vm, index), index[day0]


def test_an_injected_doubling_is_found_and_each_firm_is_ols():
    v, vm, day0 = _panel()
    noise = np.random.default_rng(9).normal(0, 0.2, (len(vm), 400))
    market = pd.DataFrame(vm.to_numpy()[:, None] + noise, index=v.index).add_prefix("M")  # 400 other stocks
    members = pd.concat([v, market], axis=1)
    events = firm_events(list(v.columns), day0)
    res = run_volume(VolumeSpec("market"), members, events, {"all": list(v.columns)}, DESIGN)
    vm_used = members.mean(axis=1)
    av0 = res.car[res.car.window == "[0,0]"].set_index("ticker").car
    pos = v.index.get_loc(day0)
    for t in ["F00", "F07", "F19"]:
        fit = sm.OLS(v[t].iloc[pos - 120 : pos - 10], sm.add_constant(vm_used.iloc[pos - 120 : pos - 10])).fit()
        assert av0[t] == pytest.approx(v[t].iloc[pos] - fit.params @ [1.0, vm_used.iloc[pos]], abs=1e-12)
    tests = res.tests[(res.tests.window == "[0,0]")].set_index("test")
    # the event firms are 25 of the market's 425 members: their own doubling moves v_m a little
    assert tests.caar["csect-t"] == pytest.approx(DOUBLING, abs=0.12)
    assert tests.p["kolari-pynnonen"] < 1e-6


def test_firms_without_volume_are_excluded_with_their_reason():
    v, vm, day0 = _panel(n=6)
    v["F03"] = np.nan
    events = firm_events(list(v.columns), day0)
    res = run_volume(VolumeSpec("mean"), v, events, {"all": list(v.columns)}, DESIGN)
    why = dict(zip(res.excluded.ticker, res.excluded.reason, strict=True))
    assert why["F03"] == "no volume in the data"
    assert res.model.name == "constant-mean" and "F03" not in set(res.events.ticker)


def test_volume_study_on_files_with_volume_and_shares(tmp_path):
    ex = REPO / "analyses" / "crsp-format-example"
    for f in ("dsf.csv", "dsi.csv", "stocknames.csv", "study.toml"):
        shutil.copy(ex / f, tmp_path / f)
    (tmp_path / "study.toml").write_text((tmp_path / "study.toml").read_text() + '\n[volume]\nmodel = "mean"\n')
    res = es.run_study(str(tmp_path / "study.toml"))
    dsf = pd.read_csv(tmp_path / "dsf.csv", dtype={"RET": str})
    nvda = dsf[dsf.PERMNO == 90001].set_index("DATE")
    v = np.log(100 * nvda.VOL / (nvda.SHROUT * 1000) + C)
    dates = list(v.index)
    pos = dates.index(20250127)
    want = v.iloc[pos] - v.iloc[pos - 250 : pos - 10].mean()  # the mean model over [−250, −11]
    got = res.volume.car[(res.volume.car.window == "[0,0]") & (res.volume.car.ticker == "NVDA")].car.iloc[0]
    assert got == pytest.approx(want, abs=1e-12)
    assert set(res.volume.events.ticker) == set(res.main.events.ticker)


def test_turnover_says_why_a_stock_has_none():
    from eventstudy.study.volume import NO_SHARES, NO_VOLUME, turnover

    days = pd.bdate_range("2024-01-01", periods=5)
    frame = pd.DataFrame({"close": 10.0, "volume": 1e6}, index=days)
    frames = {"A": frame, "B": frame, "C": frame.assign(volume=np.nan)}
    mv = pd.DataFrame({"A": 1e9, "B": np.nan, "C": 1e9}, index=days)
    v, why = turnover(frames, mv, days)
    assert why == {"B": NO_SHARES, "C": NO_VOLUME}
    assert v.A.iloc[0] == pytest.approx(np.log(100 * 1e6 / 1e8 + C))  # shares = 1e9 / 10


def test_a_file_without_volume_says_so_and_draws_nothing(tmp_path, capsys):
    """Without a volume column no firm-event has turnover: the run says so (a note), the report's
    section says so above the reasons, and no empty volume figure is drawn."""
    from eventstudy.cli import main

    ex = REPO / "analyses" / "crsp-format-example"
    for f in ("dsi.csv", "stocknames.csv", "study.toml"):
        shutil.copy(ex / f, tmp_path / f)
    pd.read_csv(ex / "dsf.csv", dtype=str).drop(columns="VOL").to_csv(tmp_path / "dsf.csv", index=False)
    (tmp_path / "study.toml").write_text((tmp_path / "study.toml").read_text() + "\n[volume]\n")
    res = es.run_study(str(tmp_path / "study.toml"))
    assert res.volume.events.empty
    assert "the volume study measured no firm-event: no volume in the data (10)" in res.notes
    assert main(["run", str(tmp_path / "study.toml"), "--offline", "--out", str(tmp_path / "out")]) == 0
    assert "note: the volume study measured no firm-event: no volume in the data (10)" in capsys.readouterr().out
    report = (tmp_path / "out" / "REPORT.md").read_text()
    section = report.split("## Abnormal trading volume")[1].split("\n## ")[0]
    assert "No firm-event could be measured." in section and "| volume | no volume in the data | 10 |" in section
    assert "p_kolari-pynnonen" not in section
    assert not list((tmp_path / "out").rglob("volume_paths*"))
    assert list((tmp_path / "out").rglob("caar_paths*"))  # the figures were drawn there
