"""Data layer: store format, cache triage, atomic writes, snapshot checksums, yfinance parsing
(yfinance faked at the boundary), calendar facts, returns and market values."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from yfinance.exceptions import YFRateLimitError

from eventstudy.core import calendar
from eventstudy.core.returns import session_returns, total_returns
from eventstudy.data import PriceCache, Snapshot, YFinanceSource, default_snapshot, load_prices
from eventstudy.data.cache import missing_ranges
from eventstudy.data.snapshot import SNAPSHOT_DIR
from eventstudy.data.sources import parse_yfinance_frame
from eventstudy.data.store import Coverage, read_prices, write_prices
from eventstudy.errors import (
    CacheCorruptError,
    ChecksumError,
    DataError,
    DownloadError,
    PricesMissingError,
    RateLimitError,
)
from eventstudy.study.marketvalue import market_values, share_classes
from eventstudy.study.universe import primary_listing

from ..helpers import FakeSource, altered_snapshot, yf_frame

T = pd.Timestamp


def test_cache_round_trip(tmp_path):
    frame = parse_yfinance_frame(yf_frame(calendar.sessions("2025-01-02", "2025-01-31")), "X")
    cov = Coverage("X", "2025-01-01", "2025-01-31", "fake", "now", len(frame))
    write_prices(tmp_path / "X.parquet", frame, cov)
    back, cov2 = read_prices(tmp_path / "X.parquet")
    pd.testing.assert_frame_equal(back, frame)
    assert cov2 == cov


def test_partial_cover_fetches_only_the_missing_range(tmp_path):
    cache, src = PriceCache(tmp_path), FakeSource()
    kw = dict(offline=False, snapshot=default_snapshot(), cache=cache, source=src)
    load_prices(["ZZZ"], "2025-01-02", "2025-01-31", **kw)
    assert src.calls == [("ZZZ", T("2025-01-02"), T("2025-01-31"))]
    src.calls.clear()
    got = load_prices(["ZZZ"], "2024-12-02", "2025-02-14", **kw)
    assert src.calls == [("ZZZ", T("2024-12-02"), T("2025-01-01")), ("ZZZ", T("2025-02-01"), T("2025-02-14"))]
    assert got.frames["ZZZ"].index.equals(calendar.sessions("2024-12-02", "2025-02-14"))
    src.calls.clear()
    load_prices(["ZZZ"], "2025-01-06", "2025-01-10", **kw)
    assert src.calls == []  # a covered request never reaches the source


def test_missing_ranges():
    cov = Coverage("X", "2025-01-10", "2025-01-20", "s", "t", 1)
    assert missing_ranges(cov, T("2025-01-12"), T("2025-01-15")) == []
    assert missing_ranges(None, T("2025-01-12"), T("2025-01-15")) == [(T("2025-01-12"), T("2025-01-15"))]


def test_atomic_write_survives_an_exception(tmp_path, monkeypatch):
    frame = parse_yfinance_frame(yf_frame(calendar.sessions("2025-01-02", "2025-01-10")), "X")
    path = tmp_path / "X.parquet"
    cov = Coverage("X", "2025-01-02", "2025-01-10", "fake", "now", len(frame))
    write_prices(path, frame, cov)
    before = path.read_bytes()
    import pyarrow.parquet as pq

    def explode(table, where, **kw):
        open(where, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", explode)
    with pytest.raises(OSError, match="disk full"):
        write_prices(path, frame.iloc[:2], Coverage("X", "2025-01-02", "2025-01-03", "fake", "now", 2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["X.parquet"]  # no temp file left behind


@pytest.mark.parametrize("damage", [b"", b"not parquet at all", "truncate"], ids=["empty", "garbage", "truncated"])
def test_corrupt_cache_file_is_reported(tmp_path, damage):
    PriceCache(tmp_path).write("NVDA", *default_snapshot().prices("NVDA"))  # a good file, then damaged
    path = tmp_path / "prices" / "NVDA.parquet"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else damage)
    with pytest.raises(CacheCorruptError, match="NVDA.parquet is corrupt"):
        PriceCache(tmp_path).read("NVDA")


def test_corrupt_cache_file_fails_only_that_ticker(tmp_path):
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "ZZZ.parquet").write_bytes(b"junk")
    got = load_prices(["ZZZ", "NVDA"], "2025-01-02", "2025-01-31", offline=True, cache=PriceCache(tmp_path))
    assert "corrupt" in got.failed["ZZZ"] and "NVDA" in got.frames


def test_an_altered_ticker_in_the_snapshot_fails_alone(tmp_path):
    """One close of NVIDIA changed in the prices file: the file's checksum differs, so each
    ticker's rows are checked against their own MANIFEST line; NVIDIA fails, the others load."""
    snap = Snapshot(altered_snapshot(tmp_path, "NVDA"))
    with pytest.raises(ChecksumError, match="the sha256 of NVDA's rows differs from the MANIFEST"):
        snap.prices("NVDA")
    frame, cov = snap.prices("AAPL")
    pd.testing.assert_frame_equal(frame, default_snapshot().prices("AAPL")[0])


@pytest.mark.parametrize(
    "damage, error, message",
    [
        ("cut short", ChecksumError, r"prices\.parquet is corrupt: parquet cannot be read"),
        ("deleted", DataError, r"prices\.parquet is missing \(the snapshot's MANIFEST lists it\)"),
    ],
)
def test_a_snapshot_prices_file_that_cannot_be_read_fails_every_ticker_saying_how_to_restore(
    tmp_path, damage, error, message
):
    shutil.copytree(SNAPSHOT_DIR, tmp_path / "snap")
    target = tmp_path / "snap" / "prices.parquet"
    if damage == "deleted":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:1000])
    snap = Snapshot(tmp_path / "snap")
    for ticker in ("NVDA", "AAPL"):
        with pytest.raises(error, match=message + ".*restore it .*git checkout -- eventstudy/data/snapshot"):
            snap.prices(ticker)


def test_snapshot_manifest_lists_every_file_and_ticker():
    snap = default_snapshot()
    files = {str(p.relative_to(SNAPSHOT_DIR)) for p in SNAPSHOT_DIR.rglob("*.parquet")}
    assert files == {p.split(":")[0] for p in snap.entries} and "prices.parquet" in files
    assert len(snap.tickers()) == 360
    frame, cov = snap.prices("NVDA")
    assert len(frame) == snap.entry("NVDA").rows == cov.rows
    lines = [e for p, e in snap.entries.items() if p.startswith("prices.parquet:")]
    assert sum(e.rows for e in lines) == snap.entries["prices.parquet"].rows


def test_empty_yfinance_frame_names_the_ticker(monkeypatch):
    import yfinance as yf

    monkeypatch.setattr(yf, "download", lambda *a, **k: pd.DataFrame())
    with pytest.raises(PricesMissingError, match="no prices for NOSUCH"):
        YFinanceSource(sleep=lambda s: None).fetch("NOSUCH", T("2025-01-02"), T("2025-01-31"))


def test_rate_limit_is_retried_then_raised(monkeypatch):
    import yfinance as yf

    calls, waits = [], []

    def limited(*a, **k):
        calls.append(1)
        raise YFRateLimitError()

    monkeypatch.setattr(yf, "download", limited)
    with pytest.raises(RateLimitError, match="rate-limited the download of NVDA 4 times"):
        YFinanceSource(retries=3, backoff=1.0, sleep=waits.append).fetch("NVDA", T("2025-01-02"), T("2025-01-31"))
    assert len(calls) == 4 and waits == [1.0, 2.0, 4.0]


def test_rate_limit_then_success(monkeypatch):
    import yfinance as yf

    answers = iter([YFRateLimitError(), yf_frame(calendar.sessions("2025-01-02", "2025-01-10"), ticker="NVDA")])

    def flaky(*a, **k):
        x = next(answers)
        if isinstance(x, Exception):
            raise x
        return x

    monkeypatch.setattr(yf, "download", flaky)
    got = YFinanceSource(sleep=lambda s: None).fetch("NVDA", T("2025-01-02"), T("2025-01-10"))
    assert len(got) == 6


def test_failed_download_is_a_clear_error(monkeypatch):
    import yfinance as yf

    def timeout(*a, **k):
        raise TimeoutError("read timed out")

    monkeypatch.setattr(yf, "download", timeout)
    with pytest.raises(DownloadError, match="downloading NVDA failed 2 times .*read timed out"):
        YFinanceSource(retries=1, sleep=lambda s: None).fetch("NVDA", T("2025-01-02"), T("2025-01-10"))


def test_yfinance_asks_for_unadjusted_prices_and_actions(monkeypatch):
    import yfinance as yf

    seen = {}

    def spy(*a, **k):
        seen.update(k)
        return yf_frame(calendar.sessions("2025-01-02", "2025-01-03"))

    monkeypatch.setattr(yf, "download", spy)
    YFinanceSource().fetch("NVDA", T("2025-01-02"), T("2025-01-03"))
    assert seen["auto_adjust"] is False and seen["actions"] is True
    assert seen["end"] == "2025-01-04"  # yfinance's end is exclusive


@pytest.mark.parametrize("multi", [False, True], ids=["single-index", "multiindex"])
def test_yfinance_frames_are_parsed(multi):
    raw = yf_frame(calendar.sessions("2025-01-02", "2025-01-08"), 50.0, ticker="AAA" if multi else None)
    got = parse_yfinance_frame(raw, "AAA")
    assert list(got.columns) == ["open", "high", "low", "close", "adj_close", "volume", "dividends", "splits"]
    assert len(got) == 5 and (got.close == 50.0).all() and got.index.name == "date"  # 2, 3, 6, 7, 8 Jan


def test_offline_never_calls_the_source():
    class Boom:
        name = "boom"

        def fetch(self, *a):
            raise AssertionError("network")

    got = load_prices(["NOTATICKER"], "2025-01-02", "2025-01-31", offline=True, source=Boom())
    assert "offline" in got.failed["NOTATICKER"]


# --- calendar ------------------------------------------------------------------------------


def test_calendar_facts():
    jan = calendar.sessions("2025-01-01", "2025-01-31")
    assert T("2025-01-09") not in jan and T("2025-01-20") not in jan and len(jan) == 20
    assert calendar.session_offset("2025-01-27", -1) == T("2025-01-24")  # Monday's day −1 is Friday
    assert calendar.session_offset("2025-01-10", -1) == T("2025-01-08")  # skips the 9 Jan closure
    rolled = calendar.roll_event_date("2025-01-25")
    assert rolled.date == T("2025-01-27") and rolled.rolled_from == T("2025-01-25")
    assert "rolled forward to 2025-01-27" in rolled.note
    assert calendar.roll_event_date("2025-01-20").date == T("2025-01-21")
    assert calendar.roll_event_date("2025-01-27").rolled_from is None
    assert calendar.offset_of("2025-01-27", "2025-02-06") == 8


# --- returns and market values ---------------------------------------------------------------


def test_total_return_by_hand():
    close = pd.Series([100.0, 99.0, 101.0])
    divs = pd.Series([0.0, 1.5, 0.0])
    got = total_returns(close, divs)
    assert got.iloc[1] == pytest.approx((99.0 + 1.5) / 100.0 - 1)
    assert got.iloc[2] == pytest.approx(101.0 / 99.0 - 1)


@pytest.mark.parametrize("ticker", ["MSFT", "AAPL", "NVDA", "KLAC"])
def test_total_return_agrees_with_adjusted_close(ticker):
    """Our total return (CRSP: (close + dividend)/previous close − 1) against the second
    source's adjusted close: within 1e-4 (its 4 decimals) on every day but ex-dividend days,
    where Yahoo's convention close/(previous close − dividend) − 1 holds instead — the two
    conventions differ there by about r·d/p, a few basis points at most."""
    frame = default_snapshot().prices(ticker)[0].loc["2024-01-02":"2025-06-30"]
    ours = total_returns(frame.close, frame.dividends)
    adj = frame.adj_close.pct_change()
    ok = ours.notna() & adj.notna()
    ex = frame.dividends > 0
    assert (ours[ok & ~ex] - adj[ok & ~ex]).abs().max() < 1e-4
    yahoo = frame.close / (frame.close.shift(1) - frame.dividends) - 1
    assert (yahoo[ok & ex] - adj[ok & ex]).abs().max() < 1e-4
    assert (ours[ok & ex] - adj[ok & ex]).abs().max() < 5e-4


def test_session_returns_leave_gaps_as_nan():
    days = calendar.sessions("2025-01-02", "2025-01-10")
    frame = parse_yfinance_frame(yf_frame(days), "X").drop(days[2])
    ret, basis = session_returns({"X": frame}, days[0], days[-1])
    assert ret.index.equals(days)
    assert ret.X.isna().sum() == 3  # the first day, the missing day, and the day after it


@pytest.fixture(scope="module")
def tables():
    snap = default_snapshot()
    companies, shares, implied = (snap.table(n) for n in ("companies", "shares_outstanding", "market_values_2026"))
    return companies, shares, implied, primary_listing(companies, shares)


def _mv(firm, date, tables, tickers):
    companies, shares, implied, primary = tables
    frames = {t: default_snapshot().prices(t)[0] for t in tickers}
    closes = pd.DataFrame({t: f.close for t, f in frames.items()})
    splits = pd.DataFrame({t: f.splits for t, f in frames.items()})
    mv, info = market_values([firm], pd.DatetimeIndex([T(date)]), closes, splits, shares, implied, primary, T(date))
    return mv.iloc[0, 0], info.iloc[0]


def test_nvda_market_value_by_hand(tables):
    value, info = _mv("NVDA", "2025-01-24", tables, ["NVDA"])
    assert value == pytest.approx(24_490_000_000 * 142.6199951171875, rel=1e-12)  # ≈ $3.49 trn
    assert info.flag == "filed"


def test_alphabet_values_both_classes(tables):
    value, info = _mv("GOOGL", "2025-01-24", tables, ["GOOGL", "GOOG"])
    by_hand = (5_833_000_000 + 860_000_000) * 200.2100067138672 + 5_497_000_000 * 201.89999389648438
    assert value == pytest.approx(by_hand, rel=1e-12)
    assert info.flag == "filed after"  # the 10-K cover is dated 2025-01-28, after the valuation date


@pytest.mark.parametrize(
    "firm, date, flag",
    [
        ("NVDA", "2025-01-24", "filed"),
        ("GOOGL", "2025-01-24", "filed after"),
        ("MRVL", "2025-01-24", "filed, undated"),
        ("PLTR", "2025-01-24", "implied, 2026"),
        ("AAOI", "2025-01-24", "none"),
    ],
)
def test_share_count_flags(tables, firm, date, flag):
    companies, shares, implied, primary = tables
    classes = share_classes(firm, T(date), shares, implied, primary)
    assert (classes[0].flag if classes else "none") == flag


def test_implied_alphabet_maps_to_googl(tables):
    companies, shares, implied, primary = tables
    assert primary["GOOG"] == "GOOGL" and primary["GOOGL"] == "GOOGL"


def test_split_after_the_filing_scales_the_share_count(tables):
    """A 10-for-1 split between the filing and the price basis: prices are on the post-split
    basis, so the filed count is multiplied by 10 and the market value is unchanged."""
    companies, shares, implied, primary = tables
    days = calendar.sessions("2025-01-21", "2025-01-24")
    filed = pd.DataFrame(
        {
            "ticker": ["SPL"],
            "share_class": ["common"],
            "price_ticker": ["SPL"],
            "shares": [1_000],
            "as_of": ["2024-12-31"],
            "source": ["test"],
        }
    )
    post = pd.DataFrame({"SPL": [10.0, 10.0, 10.0, 10.0]}, index=days)  # traded 100, 100, 10, 10: post-split basis
    splits = pd.DataFrame({"SPL": [0.0, 0.0, 10.0, 0.0]}, index=days)
    mv, _ = market_values(["SPL"], days, post, splits, filed, implied.iloc[:0], {}, days[-1])
    assert mv.SPL.iloc[0] == pytest.approx(10_000 * 10.0)  # 1,000 shares × 100 pre-split = 10,000 × 10


def test_share_counts_from_yfinance(monkeypatch):
    import yfinance as yf

    idx = pd.DatetimeIndex(["2024-11-20 09:30", "2024-11-20 16:00", "2025-01-02 09:30"], tz="America/New_York")

    class FakeTicker:
        def __init__(self, ticker):
            self.ticker = ticker

        def get_shares_full(self, start=None, end=None):
            return pd.Series([24.49e9, 24.50e9, 24.48e9], index=idx) if self.ticker == "NVDA" else None

    monkeypatch.setattr(yf, "Ticker", FakeTicker)
    got = YFinanceSource().shares("NVDA", T("2024-11-01"), T("2025-01-31"))
    assert list(got.index) == [T("2024-11-20"), T("2025-01-02")] and list(got) == [24.50e9, 24.48e9]
    with pytest.raises(PricesMissingError, match="no share counts"):
        YFinanceSource().shares("SPY", T("2024-11-01"), T("2025-01-31"))


@pytest.mark.parametrize(
    "line, why",
    [
        ("prices/NVDA.parquet 1234", "line 2 is malformed"),
        ("prices/NVDA.parquet " + "0" * 64 + " many a b c", "line 2"),
    ],
)
def test_a_damaged_manifest_line_is_named(tmp_path, line, why):
    shutil.copytree(SNAPSHOT_DIR, tmp_path / "snap")
    manifest = tmp_path / "snap" / "MANIFEST"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join([lines[0], line, *lines[2:]]) + "\n")
    with pytest.raises(DataError, match=f"MANIFEST: {why} .*expected 'path sha256 rows first last source'"):
        Snapshot(tmp_path / "snap")


def test_an_altered_snapshot_file_says_how_to_restore_it(tmp_path):
    shutil.copytree(SNAPSHOT_DIR, tmp_path / "snap")
    target = tmp_path / "snap" / "tables" / "companies.parquet"
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    with pytest.raises(ChecksumError, match="restore it .*git checkout -- eventstudy/data/snapshot") as err:
        Snapshot(tmp_path / "snap").table("companies")
    assert "fetch again" not in str(err.value)
    with pytest.raises(ChecksumError, match="restore it .*git checkout -- eventstudy/data/snapshot"):
        Snapshot(altered_snapshot(tmp_path / "other", "NVDA")).prices("NVDA")


def test_a_failed_download_beyond_the_snapshot_falls_back_to_the_snapshot(tmp_path):
    """Online, a span the snapshot covers only in part is downloaded; when the download fails, the
    snapshot's part is used and said, rather than losing the ticker."""
    from eventstudy.errors import DownloadError

    class Down:
        name = "fake"

        def fetch(self, ticker, start, end):
            raise DownloadError("no network: the source could not be reached")

    got = load_prices(
        ["NVDA"], "2025-06-02", "2025-09-30", offline=False, snapshot=default_snapshot(),
        cache=PriceCache(tmp_path / "cache"), source=Down(),
    )  # fmt: skip
    assert got.origin == {"NVDA": "snapshot"} and not got.failed
    assert got.frames["NVDA"].index.max() == pd.Timestamp("2025-06-30")
    assert any(
        "NVDA: no network" in n and "the snapshot's data (2023-10-02..2025-06-30) are used" in n for n in got.notes
    )


def test_without_a_network_the_source_is_asked_once_and_the_fallback_said_once(tmp_path):
    """The source found no network for the first ticker: the others are not asked (yfinance takes
    a quarter of a second a ticker to find that out again), each falls back to the snapshot's part
    as the first did, and one note names them all."""
    from eventstudy.errors import NoNetworkError

    asked = []

    class Offline:
        name = "fake"

        def fetch(self, ticker, start, end):
            asked.append(ticker)
            a, b = f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"
            raise NoNetworkError([ticker], a, b, why="no network: the fake could not reach it", hint="Check.")

    tickers = ["NVDA", "MSFT", "GOOGL", "AMZN", "TSLA", "META", "AAPL", "AMD", "AVGO"]
    got = load_prices(
        tickers, "2025-06-02", "2025-09-30", offline=False, snapshot=default_snapshot(),
        cache=PriceCache(tmp_path / "cache"), source=Offline(),
    )  # fmt: skip
    assert asked == ["NVDA"]
    assert set(got.origin.values()) == {"snapshot"} and len(got.origin) == len(tickers) and not got.failed
    said = [n for n in got.notes if "no network" in n]
    assert said == [
        "NVDA, MSFT, GOOGL, AMZN, TSLA, META and 3 more: no prices between 2025-06-02 and 2025-09-30: "
        "no network: the fake could not reach it. Check; the snapshot's data (2023-10-02..2025-06-30) are used"
    ]
