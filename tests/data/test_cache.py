"""The cache verifies what it reads and writes only on change: crafted and damaged files are
detected, set aside and fetched again (or the ticker excluded offline); a short or empty
download never widens what the cache claims to cover; a writer killed mid-write leaves the
previous file whole; tickers never escape the cache folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstudy.core import calendar
from eventstudy.data import PriceCache, load_prices
from eventstudy.data.cache import STALE_TMP_SECONDS
from eventstudy.data.sources import parse_yfinance_frame
from eventstudy.data.store import PLAUSIBLE, Coverage, prices_table, read_prices
from eventstudy.errors import CacheCorruptError, DataError, PricesMissingError

from ..helpers import FakeSource, yf_frame

T = pd.Timestamp
DAYS = calendar.sessions("2025-01-02", "2025-01-31")


def _frame(days=DAYS, close=100.0):
    return parse_yfinance_frame(yf_frame(days, close), "X")


def _cover(ticker, frame, start="2025-01-02", end="2025-01-31"):
    return Coverage(ticker, start, end, "fake", "2025-02-01T00:00:00Z", len(frame))


def _store(cache, ticker, frame, **kw):
    cache.write(ticker, frame, _cover(ticker, frame, **kw))
    return cache.path(ticker)


def _raw(path, table):
    """Write a parquet table as-is: a file no writer of ours would produce."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _tampered(frame, cov, **meta):
    """The table of ``frame`` with its coverage record replaced by ``meta`` entries."""
    table = prices_table(frame, cov)
    record = {**json.loads(table.schema.metadata[b"eventstudy"]), **meta}
    return table.replace_schema_metadata({b"eventstudy": json.dumps(record).encode()})


def _crafted(kind, path):
    good = _frame()
    cov = _cover("X", good)
    if kind == "wrong ticker":
        _raw(path, prices_table(good, _cover("MSFT", good)))
    elif kind == "no date column":
        table = pa.Table.from_pandas(good.reset_index(drop=True), preserve_index=False)
        _raw(path, table.replace_schema_metadata(prices_table(good, cov).schema.metadata))
    elif kind == "duplicate dates":
        twice = pd.concat([good, good.iloc[[3]] * 3]).sort_index()
        _raw(path, _tampered(twice, cov, rows=len(twice)))
    elif kind == "unsorted dates":
        backwards = good.iloc[::-1]
        table = pa.Table.from_pandas(backwards, preserve_index=True)
        _raw(path, table.replace_schema_metadata(prices_table(good, cov).schema.metadata))
    elif kind == "rows outside the record":
        _raw(path, _tampered(good, cov, start="2025-01-10"))
    elif kind == "row count":
        _raw(path, _tampered(good, cov, rows=len(good) + 5))
    elif kind == "no record":
        _raw(path, pa.Table.from_pandas(good, preserve_index=True))
    elif kind == "record claims more than its rows":
        first_half = good.iloc[:8]  # rows through 2025-01-14, the record through 2025-01-31
        _raw(path, _tampered(first_half, cov, rows=len(first_half)))
    elif kind == "record but no rows":
        _raw(path, _tampered(good.iloc[:0], cov, rows=0))
    elif kind == "text prices":
        table = prices_table(good, cov)
        i = table.schema.get_field_index("close")
        _raw(path, table.set_column(i, "close", pa.array(["a"] * len(good))))


CRAFTED = {
    "wrong ticker": "holds the prices of 'MSFT', not of 'X'",
    "no date column": "no date column",
    "duplicate dates": "1 date appears more than once",
    "unsorted dates": "not in order",
    "rows outside the record": "outside the 2025-01-10..2025-01-31",
    "row count": "record says 25",
    "no record": "no eventstudy coverage record",
    "text prices": "not numeric",
    "record claims more than its rows": "rows stop at 2025-01-14 although its record covers through 2025-01-31",
    "record but no rows": "holds no rows although its record covers 2025-01-02..2025-01-31",
}


@pytest.mark.parametrize("kind", CRAFTED)
def test_crafted_cache_files_are_detected(tmp_path, kind):
    cache = PriceCache(tmp_path)
    _crafted(kind, cache.path("X"))
    with pytest.raises(CacheCorruptError, match=CRAFTED[kind]):
        cache.read("X")


def test_rows_may_stop_a_few_sessions_short_of_the_record_but_no_more(tmp_path):
    """A writer records no more than its rows reach; a foreign exchange's holidays may leave the
    last few NYSE sessions without a row (up to five), not more."""
    cache, good = PriceCache(tmp_path), _frame()
    _raw(cache.path("X"), _tampered(good.iloc[:-5], _cover("X", good), rows=len(good) - 5))
    assert len(cache.read("X")[0]) == len(good) - 5
    _raw(cache.path("X"), _tampered(good.iloc[:-6], _cover("X", good), rows=len(good) - 6))
    with pytest.raises(CacheCorruptError, match="6 sessions without a row"):
        cache.read("X")


def test_a_cache_file_with_zoned_dates_is_read_on_its_own_days(tmp_path):
    """Another writer's tz-aware date column (a regression once aborted the whole study): the
    rows are read on the days they were written for."""
    cache, good = PriceCache(tmp_path), _frame()
    zoned = good.copy()
    zoned.index = zoned.index.tz_localize("America/New_York")
    table = pa.Table.from_pandas(zoned, preserve_index=True)
    _raw(cache.path("X"), table.replace_schema_metadata(prices_table(good, _cover("X", good)).schema.metadata))
    assert pa.types.is_timestamp(pq.read_schema(cache.path("X")).field("date").type)
    assert pq.read_schema(cache.path("X")).field("date").type.tz == "America/New_York"
    frame, _ = cache.read("X")
    pd.testing.assert_frame_equal(frame, good.astype("float64"), check_freq=False)


def test_a_damaged_1e300_price_is_set_missing_not_fitted(tmp_path):
    """1e300 in a cache file used to overflow the regression's sums ("singular regressors")."""
    frame = _frame()
    frame.loc[DAYS[6], ["close", "adj_close"]] = 1e300
    cache = PriceCache(tmp_path)
    _store(cache, "X", frame)
    got = load_prices(["X"], DAYS[0], DAYS[-1], offline=True, cache=cache)
    assert got.frames["X"].loc[DAYS[6], ["close", "adj_close"]].isna().all()
    assert got.notes == (
        "X: 1 day with an impossible close/adj_close (2025-01-13: not a number from 1e-06 to 1e+09) set "
        "missing: those days have no return",
    )


@pytest.mark.parametrize("kind", CRAFTED)
def test_a_bad_cache_file_is_set_aside_and_fetched_again_online(tmp_path, kind):
    cache, src = PriceCache(tmp_path), FakeSource()
    _crafted(kind, cache.path("X"))
    damaged = cache.path("X").read_bytes()
    got = load_prices(["X"], "2025-01-02", "2025-01-31", offline=False, cache=cache, source=src)
    assert src.calls == [("X", T("2025-01-02"), T("2025-01-31"))]
    assert got.frames["X"].index.equals(DAYS) and got.origin["X"] == "fake"
    aside = list(cache.folder.glob("X.parquet.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged  # kept, byte for byte
    assert "set aside as X.parquet.bad-" in got.notes[0] and "downloaded again" in got.notes[0]
    assert read_prices(cache.path("X"))[1].ticker == "X"  # the new file is whole


def test_a_bad_cache_file_excludes_only_its_ticker_offline(tmp_path):
    cache = PriceCache(tmp_path)
    _crafted("wrong ticker", cache.path("X"))
    _store(cache, "Y", _frame())
    got = load_prices(["X", "Y"], "2025-01-02", "2025-01-31", offline=True, cache=cache)
    assert "holds the prices of 'MSFT'" in got.failed["X"] and "set aside" in got.failed["X"]
    assert "run online" in got.failed["X"] and list(got.frames) == ["Y"]
    assert list(cache.folder.glob("X.parquet.bad-*"))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 0.0, -3.0])
def test_a_bad_price_in_the_cache_drops_that_day_with_a_note(tmp_path, bad):
    """An ``inf`` close used to make the next day a −100 % return."""
    from eventstudy.core.returns import session_returns

    frame = _frame()
    frame.loc[DAYS[10], "close"] = bad
    cache = PriceCache(tmp_path)
    _store(cache, "X", frame)
    got = load_prices(["X"], "2025-01-02", "2025-01-31", offline=True, cache=cache)
    assert np.isnan(got.frames["X"].close[DAYS[10]])
    assert got.notes == (
        "X: 1 day with an impossible close (2025-01-17: not a number from 1e-06 to 1e+09) set missing: "
        "those days have no return",
    )
    ret, _ = session_returns(got.frames, DAYS[0], DAYS[-1])
    assert ret.X[[DAYS[10], DAYS[11]]].isna().all()
    assert (ret.X.dropna() == 0.0).all()  # a flat price: every other return is exactly 0


def test_a_download_without_the_missing_range_keeps_the_record(tmp_path):
    """An empty answer for the gap must not make the cache claim it: it is asked again."""
    cache = PriceCache(tmp_path)
    path = _store(cache, "X", _frame())
    before = path.read_bytes()

    class Empty(FakeSource):
        def fetch(self, ticker, start, end):
            self.calls.append((ticker, start, end))
            raise PricesMissingError([ticker], start, end)

    src = Empty()
    for _ in range(2):
        got = load_prices(["X"], "2025-01-02", "2025-02-14", offline=False, cache=cache, source=src)
    assert src.calls == [("X", T("2025-02-01"), T("2025-02-14"))] * 2  # the gap is asked for each time
    assert path.read_bytes() == before  # the record is not widened, the file not rewritten
    assert got.frames["X"].index.equals(DAYS) and got.origin["X"] == "cache"
    assert "the cache still covers 2025-01-02..2025-01-31 only" in got.notes[0]


def test_a_short_download_widens_the_record_only_as_far_as_it_reached(tmp_path):
    class Short(FakeSource):
        def fetch(self, ticker, start, end):
            return super().fetch(ticker, start, end).loc[:"2025-01-24"]

    cache, src = PriceCache(tmp_path), Short()
    got = load_prices(["X"], "2025-01-02", "2025-01-31", offline=False, cache=cache, source=src)
    assert read_prices(cache.path("X"))[1].end == "2025-01-24"
    assert "has prices through 2025-01-24 only (asked through 2025-01-31)" in got.notes[0]
    src.calls.clear()
    load_prices(["X"], "2025-01-02", "2025-01-31", offline=False, cache=cache, source=src)
    assert src.calls == [("X", T("2025-01-25"), T("2025-01-31"))]  # the rest is asked for again


def test_a_download_ending_on_a_friday_covers_the_weekend(tmp_path):
    cache, src = PriceCache(tmp_path), FakeSource()
    got = load_prices(["X"], "2025-01-02", "2025-02-02", offline=False, cache=cache, source=src)  # a Sunday
    assert read_prices(cache.path("X"))[1].end == "2025-02-02" and got.notes == ()


def test_nothing_is_rewritten_when_nothing_was_fetched(tmp_path):
    cache, src = PriceCache(tmp_path), FakeSource()
    load_prices(["X"], "2025-01-02", "2025-01-31", offline=False, cache=cache, source=src)
    path = cache.path("X")
    before, stamp = path.read_bytes(), path.stat().st_mtime_ns
    got = load_prices(["X"], "2025-01-06", "2025-01-24", offline=False, cache=cache, source=src)
    assert len(src.calls) == 1 and got.origin["X"] == "cache"
    assert path.read_bytes() == before and path.stat().st_mtime_ns == stamp


def test_a_download_with_two_different_rows_for_a_date_is_refused(tmp_path):
    class Twice(FakeSource):
        def fetch(self, ticker, start, end):
            frame = super().fetch(ticker, start, end)
            clash = frame.iloc[[2]].assign(close=frame.close.iloc[2] * 3)
            return pd.concat([frame, clash])

    got = load_prices(["X"], "2025-01-02", "2025-01-31", offline=False, cache=PriceCache(tmp_path), source=Twice())
    assert "different rows for the same date for X (2025-01-06)" in got.failed["X"]
    assert not PriceCache(tmp_path).path("X").exists()


def test_identical_copies_of_a_row_are_merged(tmp_path):
    class Copies(FakeSource):
        def fetch(self, ticker, start, end):
            frame = super().fetch(ticker, start, end)
            return pd.concat([frame, frame.iloc[[-1]]])

    got = load_prices(["X"], "2025-01-02", "2025-01-31", offline=False, cache=PriceCache(tmp_path), source=Copies())
    assert got.frames["X"].index.equals(DAYS)


@pytest.mark.parametrize("ticker", ["../../x", "/etc/passwd", "a/b", ".hidden", "", "NV DA", "x" * 30])
def test_a_ticker_never_becomes_a_path_outside_the_cache(tmp_path, ticker):
    cache = PriceCache(tmp_path / "a" / "b" / "cache")
    with pytest.raises(DataError, match="is not a ticker symbol"):
        cache.path(ticker)
    got = load_prices([ticker], "2025-01-02", "2025-01-31", offline=False, cache=cache, source=FakeSource())
    assert "not a ticker symbol" in got.failed[ticker]
    assert list(tmp_path.rglob("*")) == []  # nothing written anywhere


def test_leftover_temp_files_are_swept_and_live_ones_kept(tmp_path):
    cache = PriceCache(tmp_path)
    cache.folder.mkdir(parents=True)
    old, live = cache.folder / ".X.parquet.abc.tmp", cache.folder / ".Y.parquet.def.tmp"
    old.write_bytes(b"half")
    live.write_bytes(b"half")
    past = time.time() - STALE_TMP_SECONDS - 60
    os.utime(old, (past, past))
    _store(cache, "Z", _frame())
    assert not old.exists() and live.exists()


def test_cache_files_are_readable_by_the_group(tmp_path):
    mask = os.umask(0o022)
    try:
        path = _store(PriceCache(tmp_path), "X", _frame())
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_the_cache_lists_only_ticker_files(tmp_path):
    cache = PriceCache(tmp_path)
    _store(cache, "X", _frame())
    cache.set_aside("X")
    _store(cache, "^GSPC", _frame())
    (cache.folder / ".Y.parquet.1.tmp").write_bytes(b"")
    assert cache.tickers() == ["^GSPC"]


_WRITER = """
import sys, numpy as np, pandas as pd
from eventstudy.data.store import Coverage, write_prices
days = pd.bdate_range("2000-01-03", periods=200_000)
frame = pd.DataFrame({c: np.random.default_rng(0).uniform(1, 2, len(days)) for c in
    ["open", "high", "low", "close", "adj_close", "volume", "dividends", "splits"]}, index=days.rename("date"))
cov = Coverage("X", f"{days[0]:%Y-%m-%d}", f"{days[-1]:%Y-%m-%d}", "s", "t", len(frame))
print("ready", flush=True)
while True:
    write_prices(__import__("pathlib").Path(sys.argv[1]), frame, cov)
"""


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.7])
def test_a_writer_killed_mid_write_leaves_the_previous_file_whole(tmp_path, delay):
    cache = PriceCache(tmp_path)
    path = _store(cache, "X", _frame())
    before = path.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    frame, cov = cache.read("X")  # the old file or a complete new one, never half of one
    assert path.read_bytes() == before or len(frame) == cov.rows == 200_000
    for tmp in cache.folder.glob(".*.tmp"):
        os.utime(tmp, (0, 0))
    cache.sweep()
    assert [p.name for p in cache.folder.iterdir()] == ["X.parquet"]


def test_an_offline_run_uses_a_ticker_only_the_cache_holds(tmp_path, monkeypatch):
    """NVDA's real prices stored in the cache under another name: offline, the run finds them
    there (not "unknown ticker") and gives exactly NVDA's abnormal return."""
    from eventstudy.data import default_snapshot
    from eventstudy.study.pipeline import run_study

    from ..helpers import study_file

    frame, cov = default_snapshot().prices("NVDA")
    cache = PriceCache(tmp_path / "cache")
    cache.write("NVDX", frame, Coverage("NVDX", cov.start, cov.end, "test", cov.fetched_at, cov.rows))
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(cache.root))
    ours = run_study(study_file(tmp_path, tickers='["NVDX", "MSFT"]'), offline=True)
    theirs = run_study(study_file(tmp_path, tickers='["NVDA", "MSFT"]'), offline=True)
    assert ours.provenance.set_index("ticker").origin["NVDX"] == "cache"
    assert ours.main.car_of("[0,0]").car["NVDX"] == theirs.main.car_of("[0,0]").car["NVDA"]


_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e-300, 1e300]),
    st.floats(1.0, 500.0),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    closes=st.lists(_cells, min_size=3, max_size=40),
    dividends=st.lists(st.one_of(st.floats(0, 5), st.just(np.nan)), min_size=40, max_size=40),
)
def test_whatever_prices_are_read_every_return_is_finite(tmp_path, closes, dividends):
    """Any close series through the cache and the loader: each return that comes out is finite
    and above −100 %, and a day whose price was bad (not finite, or outside the plausible range,
    such as 1e300) has no return (nor has the day after)."""
    from eventstudy.core.returns import session_returns

    days = calendar.sessions("2025-01-02", "2025-03-31")[: len(closes)]
    frame = _frame(days).assign(close=closes, adj_close=closes, dividends=dividends[: len(closes)])
    cache = PriceCache(tmp_path / f"c{abs(hash((tuple(closes), tuple(dividends))))}")
    _store(cache, "X", frame, start=f"{days[0]:%Y-%m-%d}", end=f"{days[-1]:%Y-%m-%d}")
    got = load_prices(["X"], days[0], days[-1], offline=True, cache=cache)
    ret, _ = session_returns(got.frames, days[0], days[-1])
    values = ret.X.dropna()
    assert np.isfinite(values).all() and (values >= -1).all()
    lo, hi = PLAUSIBLE
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(closes) & (np.asarray(closes) >= lo) & (np.asarray(closes) <= hi))
    hit = bad | np.r_[False, bad[:-1]]
    assert ret.X[hit].isna().all()
    present_but_bad = bad & ~np.isnan(np.asarray(closes))  # a missing close is no error to note
    assert bool(got.notes) == bool(present_but_bad.any())


def test_a_data_note_reaches_the_summary_and_the_report(tmp_path, monkeypatch):
    from eventstudy.data import default_snapshot
    from eventstudy.report import writer as report
    from eventstudy.study.pipeline import run_study

    from ..helpers import study_file

    frame, cov = default_snapshot().prices("NVDA")
    frame = frame.copy()
    frame.loc["2024-11-05", "close"] = np.inf
    cache = PriceCache(tmp_path / "cache")
    cache.write("NVDX", frame, Coverage("NVDX", cov.start, cov.end, "test", cov.fetched_at, cov.rows))
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(cache.root))
    res = run_study(study_file(tmp_path, tickers='["NVDX", "MSFT"]'), offline=True)
    note = "NVDX: 1 day with an impossible close (2024-11-05: not a number from 1e-06 to 1e+09) set missing"
    assert note in res.summary()
    assert note in report.write(res).read_text()
    est = res.fit_data[res.fit_data.ticker == "NVDX"].set_index("date").ret
    assert est[["2024-11-05", "2024-11-06"]].isna().all() and est.dropna().gt(-0.5).all()
