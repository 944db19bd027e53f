"""The snapshot import on a tiny folder laid out like the shared data: no value altered,
a manifest line per file and per ticker, byte-identical when run twice."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from eventstudy.data import snapshot as snapshot_module
from eventstudy.data.snapshot import Snapshot, build_snapshot
from eventstudy.errors import DataError

OHLCV = "date,open,high,low,close,volume\n2025-01-23,10.5,11.0,10.0,10.75,1000\n2025-01-24,10.75,11.25,10.5,11.0,2000\n"


@pytest.fixture()
def shared(tmp_path):
    root = tmp_path / "data"
    for sub in ("unadjusted", "dividends", "prices", "indices", "factors", "closes"):
        (root / sub).mkdir(parents=True)
    (root / "unadjusted" / "AAA.csv").write_text(OHLCV)
    (root / "dividends" / "AAA.csv").write_text("date,dividend\n2025-01-24,0.25\n")
    (root / "prices" / "AAA.csv").write_text(OHLCV.replace("10.75,1000", "10.5,1000"))
    (root / "prices" / "ADJ.csv").write_text(OHLCV)  # adjusted only, no traded prices
    for name in ("GSPC", "IXIC", "SOX"):
        (root / "indices" / f"{name}.csv").write_text(OHLCV)
    (root / "indices" / "SMH.csv").write_text("date,close\n2025-01-23,1.0\n2025-01-24,1.1\n")
    (root / "companies.csv").write_text("ticker,name,issuer,asset_type,exchange,currency\nAAA,A,A,stock,X,USD\n")
    (root / "shares_outstanding.csv").write_text(
        "ticker,share_class,price_ticker,shares,as_of,source\nAAA,common,AAA,1000,2024-12,[X] test\n"
    )
    (root / "market_values_2026.csv").write_text(
        "ticker,rank,market_value_usd,close_date,close,implied_shares\nAAA,1,100,2026-05-29,10.0,10\n"
    )
    (root / "factors" / "ff3_daily.csv").write_text("date,mkt_rf,smb,hml,rf\n2025-01-24,0.1,0.2,0.3,0.02\n")
    (root / "factors" / "ff5_daily.csv").write_text(
        "date,mkt_rf,smb,hml,rmw,cma,rf\n2025-01-24,0.1,0.2,0.3,0.4,0.5,0.02\n"
    )
    (root / "factors" / "mom_daily.csv").write_text("date,mom\n2025-01-24,0.7\n")
    (root / "closes" / "unadjusted_closes.csv").write_text("date,AAA,GSPC\n2025-01-24,11.0,6000.0\n")
    for note in ("SOURCES-prices.md", "SOURCES-fundamentals.md", "prices/SOURCES-more.md"):
        (root / note).write_text("provenance\n")
    return root


def test_import_keeps_every_value(shared, tmp_path):
    build_snapshot(shared, tmp_path / "snap")
    snap = Snapshot(tmp_path / "snap")
    frame, cov = snap.prices("AAA")
    assert list(frame.close) == [10.75, 11.0] and list(frame.dividends) == [0.0, 0.25]
    assert list(frame.adj_close) == [10.5, 11.0] and cov.rows == 2
    adj_only = snap.prices("ADJ")[0]
    assert adj_only.close.isna().all() and list(adj_only.adj_close) == [10.75, 11.0]
    assert snap.table("shares_outstanding").shares.iloc[0] == 1000
    assert snap.table("ff3").mkt_rf.iloc[0] == 0.1  # percent, as published
    assert set(snap.tickers()) == {"AAA", "ADJ", "^GSPC", "^IXIC", "^SOX", "SMH"}


def test_import_is_reproducible(shared, tmp_path):
    build_snapshot(shared, tmp_path / "a")
    build_snapshot(shared, tmp_path / "b")
    assert (tmp_path / "a" / "MANIFEST").read_bytes() == (tmp_path / "b" / "MANIFEST").read_bytes()
    lines = (tmp_path / "a" / "MANIFEST").read_text().splitlines()[1:]
    assert len(lines) == 1 + 6 + 7  # the prices file, its six tickers, seven tables
    assert pd.Series([ln.split()[0] for ln in lines]).is_unique


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def built(shared, tmp_path):
    build_snapshot(shared, tmp_path / "snap")
    return tmp_path / "snap", _files(tmp_path / "snap")


def test_a_mistyped_source_folder_leaves_the_snapshot_untouched(built, tmp_path):
    snap, before = built
    with pytest.raises(DataError, match=r"is not a shared data folder: missing .*unadjusted.*not changed"):
        build_snapshot(tmp_path / "dta", snap)
    assert _files(snap) == before


def test_a_source_lacking_one_folder_is_named(built, shared):
    snap, before = built
    shutil.rmtree(shared / "factors")
    with pytest.raises(DataError, match=r"missing .*factors/ff3_daily\.csv"):
        build_snapshot(shared, snap)
    assert _files(snap) == before


def test_a_bad_cell_names_its_file_and_changes_nothing(built, shared):
    snap, before = built
    (shared / "unadjusted" / "AAA.csv").write_text(OHLCV.replace("10.75,1000", "ten,1000"))
    with pytest.raises(DataError, match=r"unadjusted/AAA\.csv: cannot be read.*The snapshot was not changed"):
        build_snapshot(shared, snap)
    assert _files(snap) == before and not list(snap.parent.glob(".snap.building-*"))


def test_a_fault_late_in_the_build_leaves_the_old_snapshot(built, shared, monkeypatch):
    snap, before = built

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshot_module, "_write_table_entry", disk_full)  # after every prices file
    with pytest.raises(
        DataError, match=r"the new snapshot could not be written in .*No space left on device.*not changed"
    ):
        build_snapshot(shared, snap)
    assert _files(snap) == before and not list(snap.parent.glob(".snap.building-*"))


def test_a_rebuild_replaces_the_snapshot_whole(built, shared):
    snap, _ = built
    (shared / "unadjusted" / "BBB.csv").write_text(OHLCV)
    build_snapshot(shared, snap)
    assert "BBB" in Snapshot(snap).tickers() and not list(snap.parent.glob(".snap.*"))


def test_a_swap_killed_between_its_renames_is_undone_by_the_next_build(built, shared):
    snap, before = built
    snap.rename(snap.with_name(".snap.old"))  # the state a kill after the first rename leaves
    (shared / "unadjusted" / "AAA.csv").write_text("broken")
    with pytest.raises(DataError):
        build_snapshot(shared, snap)
    assert _files(snap) == before
