"""A study's own files: CRSP's layouts, Ken French's files, names with date ranges, delisting
returns, and every bad input with its message (synthetic files whose answers are known)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.core.calendar import sessions
from eventstudy.data.files import DataSpec, layout_of, load_files, read_factors, read_names
from eventstudy.data.files.returns import compound_delistings
from eventstudy.errors import DataFileError

DAYS = sessions("2024-01-02", "2024-06-28")


def long_file(path, ids=("10001", "10002"), days=DAYS, scale=1.0, seed=0, **extra):
    """A legacy-layout daily stock file with known returns (decimals × ``scale``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in ids:
        ret = rng.normal(0, 0.015, len(days)) * scale
        rows.append(
            pd.DataFrame(
                {"PERMNO": int(i), "DATE": days.strftime("%Y%m%d"), "RET": ret, "PRC": -50.0, "SHROUT": 1000.0}
            )
        )
    frame = pd.concat(rows, ignore_index=True).assign(**extra)
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return frame


def load(path, ids=("10001", "10002"), **spec):
    return load_files(DataSpec(returns=path, **spec), list(ids), DAYS[0], DAYS[-1], "XNYS")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_legacy_layout_read_back_exactly(tmp_path, suffix):
    f = long_file(tmp_path / f"dsf{suffix}")
    got = load(tmp_path / f"dsf{suffix}")
    want = f.pivot(index="DATE", columns="PERMNO", values="RET")
    assert np.allclose(got.returns.to_numpy(), want.to_numpy(), rtol=0, atol=1e-15)
    assert list(got.returns.columns) == ["10001", "10002"]
    # |PRC| × SHROUT × 1000: a negative price is CRSP's bid/ask midpoint
    assert got.market_values.iloc[0, 0] == 50.0 * 1000 * 1000


def test_ciz_layout_and_mapped_columns(tmp_path):
    f = long_file(tmp_path / "a.csv")
    ciz = f.rename(columns={"DATE": "DlyCalDt", "RET": "DlyRet", "PRC": "DlyPrc", "SHROUT": "ShrOut"})
    ciz.to_csv(tmp_path / "ciz.csv", index=False)
    assert layout_of(DataSpec(returns=tmp_path / "ciz.csv")).name.startswith("CRSP daily stock file (CIZ")
    other = f.rename(columns={"PERMNO": "isin", "DATE": "day", "RET": "r"})[["isin", "day", "r"]]
    other.to_csv(tmp_path / "other.csv", index=False)
    got = load(tmp_path / "other.csv", columns={"id": "isin", "date": "day", "ret": "r"})
    assert np.isclose(got.returns.iloc[3, 1], f.RET.iloc[len(DAYS) + 3], atol=1e-15)
    with pytest.raises(DataFileError, match="no layout eventstudy knows"):
        layout_of(DataSpec(returns=tmp_path / "other.csv"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_wide_file_reads_as_the_long_one(tmp_path, suffix):
    """A date column and a column per security, newest first, the dates not the first column,
    another security's column unreadable: the study's columns give the long file's returns."""
    f = long_file(tmp_path / "dsf.csv", ids=("10001", "10002", "10003"))
    wide = f.pivot(index="DATE", columns="PERMNO", values="RET").iloc[::-1]
    wide.columns = wide.columns.astype(str)
    wide = wide.reset_index().rename(columns={"DATE": "day"})[["10002", "day", "10001", "10003"]]
    wide["10003"] = "not a number"  # never read: the study does not name it
    path = tmp_path / f"wide{suffix}"
    wide.to_parquet(path) if suffix == ".parquet" else wide.to_csv(path, index=False)
    got = load(path, ids=("10001", "10002", "10009"), layout="wide", columns={"date": "day"})
    want = load(tmp_path / "dsf.csv", ids=("10001", "10002", "10009"))
    pd.testing.assert_frame_equal(got.returns, want.returns)
    assert got.missing == {"10009": f"no returns in wide{suffix} from 2024-01-02 to 2024-06-28"}
    assert got.layout.wide and not got.layout.has("price") and got.market_values.isna().all().all()


def test_a_date_format_reads_the_files_written_so_and_iso_files_as_they_are(tmp_path):
    """[data] date_format = "%d/%m/%Y" for a wide file whose 03/01/2024 is 3 January, beside a
    market file written YYYY-MM-DD: each file is read its one way, none of its rows guessed."""
    f = long_file(tmp_path / "dsf.csv")
    wide = f.pivot(index="DATE", columns="PERMNO", values="RET")
    wide.columns = wide.columns.astype(str)
    wide.index = pd.to_datetime(wide.index, format="%Y%m%d").strftime("%d/%m/%Y")
    wide.rename_axis("day").reset_index().to_csv(tmp_path / "wide.csv", index=False)
    market = pd.DataFrame({"date": DAYS.strftime("%Y-%m-%d"), "vwretd": np.linspace(-0.01, 0.01, len(DAYS))})
    market.to_csv(tmp_path / "dsi.csv", index=False)
    spec = {"layout": "wide", "date_format": "%d/%m/%Y", "market": tmp_path / "dsi.csv"}
    got = load(tmp_path / "wide.csv", **spec)
    pd.testing.assert_frame_equal(got.returns, load(tmp_path / "dsf.csv").returns)
    assert np.array_equal(got.market.vwretd.to_numpy(), market.vwretd.to_numpy())
    market.assign(date=DAYS.strftime("%m/%d/%Y")).to_csv(tmp_path / "dsi.csv", index=False)  # month first: no
    with pytest.raises(DataFileError, match="is not a date"):
        load(tmp_path / "wide.csv", **spec)


def test_a_wide_file_is_told_from_a_long_one(tmp_path):
    f = long_file(tmp_path / "dsf.csv")
    wide = f.pivot(index="DATE", columns="PERMNO", values="RET").reset_index()
    wide.to_csv(tmp_path / "wide.csv", index=False)
    with pytest.raises(DataFileError, match='no id / date / ret column.*is wide: set \\[data\\] layout = "wide"'):
        layout_of(DataSpec(returns=tmp_path / "wide.csv"))
    assert layout_of(DataSpec(returns=tmp_path / "wide.csv", layout="wide")).columns == {"date": "DATE"}
    with pytest.raises(DataFileError, match="\\[data.columns\\] ret: a wide file .* name only its date column"):
        layout_of(DataSpec(returns=tmp_path / "wide.csv", layout="wide", columns={"ret": "10001"}))
    with pytest.raises(DataFileError, match="date = 'when' is not a column"):
        layout_of(DataSpec(returns=tmp_path / "wide.csv", layout="wide", columns={"date": "when"}))
    wide[["DATE"]].to_csv(tmp_path / "dates.csv", index=False)
    with pytest.raises(DataFileError, match="a column per security; it has only 'DATE'"):
        layout_of(DataSpec(returns=tmp_path / "dates.csv", layout="wide"))
    pd.concat([wide, wide.iloc[[4]]]).to_csv(tmp_path / "twice.csv", index=False)
    twice = r"\(column DATE, line 6\).*column 10001 on 2024-01-08 appears 2 times \(lines 6, 126\)"
    with pytest.raises(DataFileError, match=twice):
        load(tmp_path / "twice.csv", layout="wide")
    (tmp_path / "same.csv").write_text((tmp_path / "wide.csv").read_text().replace("10002", "10001", 1))
    with pytest.raises(DataFileError, match="its header names two columns '10001': name each column once"):
        load(tmp_path / "same.csv", layout="wide")
    low = wide.copy()
    low.loc[7, 10002] = -1.5
    low.to_csv(tmp_path / "low.csv", index=False)
    with pytest.raises(DataFileError, match=r"\(column 10002, line 9\): a return of -1.5 is below"):
        load(tmp_path / "low.csv", layout="wide")


@pytest.mark.parametrize("sep, said", [(";", "';'"), ("\t", "a tab")])
def test_a_file_separated_otherwise_than_by_commas_says_so(tmp_path, sep, said):
    long_file(tmp_path / "a.csv").to_csv(tmp_path / "semi.csv", sep=sep, index=False)
    with pytest.raises(
        DataFileError, match=f"its header is one column, 'PERMNO.{{1,2}}DATE.*: the file is separated by {said}"
    ):
        layout_of(DataSpec(returns=tmp_path / "semi.csv"))


def test_crsp_codes_become_missing_with_a_note(tmp_path):
    f = long_file(tmp_path / "x.csv")
    f["RET"] = f.RET.astype(object)
    f.loc[[0, 5], "RET"], f.loc[7, "RET"] = "C", "B"
    f.loc[9, "RET"] = -66.0
    f.to_csv(tmp_path / "dsf.csv", index=False)
    got = load(tmp_path / "dsf.csv")
    assert got.returns["10001"].isna().sum() == 4
    assert any("4 returns are CRSP missing-value codes (-66: 1, B: 1, C: 2)" in n for n in got.notes)


def test_percent_returns_refused_then_read_with_units(tmp_path):
    f = long_file(tmp_path / "dsf.csv", scale=100.0)
    with pytest.raises(
        DataFileError, match=r'returns look like percent: median \|ret\| is 1\.\d; set units = "percent"'
    ):
        load(tmp_path / "dsf.csv")
    got = load(tmp_path / "dsf.csv", units="percent")
    assert np.isclose(got.returns.iloc[1, 0], f.RET.iloc[1] / 100, atol=1e-15)


def test_prices_instead_of_returns(tmp_path):
    long_file(tmp_path / "dsf.csv").assign(RET=lambda f: 100 + np.arange(len(f)) % 7).to_csv(
        tmp_path / "p.csv", index=False
    )
    with pytest.raises(DataFileError, match="look like prices, not returns"):
        load(tmp_path / "p.csv")


def test_duplicate_rows_named_by_line(tmp_path):
    f = long_file(tmp_path / "dsf.csv")
    pd.concat([f, f.iloc[[3]]]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataFileError, match=r"PERMNO 10001 on 2024-01-05 appears 2 times \(lines 5, \d+\)"):
        load(tmp_path / "d.csv")


def test_dates_that_are_not_sessions(tmp_path):
    long_file(tmp_path / "dsf.csv", days=pd.bdate_range("2024-01-02", "2024-06-28"))  # holidays included
    with pytest.raises(DataFileError, match=r"line \d+\): 2024-01-15 \(Monday\) is not an NYSE session"):
        load(tmp_path / "dsf.csv")


def test_monthly_file_refused(tmp_path):
    long_file(tmp_path / "m.csv", days=pd.DatetimeIndex(pd.date_range("2020-01-31", periods=40, freq="ME")))
    spec = DataSpec(returns=tmp_path / "m.csv")
    with pytest.raises(DataFileError, match="look monthly or weekly, not daily"):
        load_files(spec, ["10001", "10002"], pd.Timestamp("2020-01-01"), pd.Timestamp("2023-12-31"), "XNYS")


def test_absent_identifier_is_missing_with_its_reason(tmp_path):
    long_file(tmp_path / "dsf.csv")
    got = load(tmp_path / "dsf.csv", ids=("10001", "77777"))
    assert got.missing == {"77777": "no returns in dsf.csv from 2024-01-02 to 2024-06-28"}


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_files_are_errors_not_crashes(tmp_path, cut):
    long_file(tmp_path / "dsf.parquet")
    data = (tmp_path / "dsf.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(DataFileError, match="cannot be read"):
        load(tmp_path / "cut.parquet")
    assert (tmp_path / "dsf.parquet").read_bytes() == data  # the user's file is untouched
    long_file(tmp_path / "dsf.csv")
    text = (tmp_path / "dsf.csv").read_text()
    (tmp_path / "cut.csv").write_text(text[: int(len(text) * cut)])
    with pytest.raises(DataFileError):
        load(tmp_path / "cut.csv")


def test_delisting_compounded_and_shumway_by_hand(tmp_path):
    frame = pd.DataFrame(
        {"id": ["1", "1", "2", "2", "3"], "date": pd.to_datetime(["2024-01-02", "2024-01-03"] * 2 + ["2024-01-03"])}
    ).assign(ret=[0.01, -0.20, 0.02, np.nan, 0.05])
    delist = pd.DataFrame(
        {"id": ["1", "2", "3"], "date": pd.to_datetime(["2024-01-03"] * 3), "dlret": [-0.30, -0.10, np.nan]}
    ).assign(code=[500.0, 233.0, 552.0])
    out, notes = compound_delistings(frame, delist, DataSpec(returns=tmp_path / "x.csv", delisting=tmp_path / "d.csv"))
    assert np.isclose(out.ret[1], (1 - 0.20) * (1 - 0.30) - 1)  # −0.44, METHODS.md's worked case
    assert np.isclose(out.ret[3], -0.10)  # RET missing: DLRET alone
    assert out.ret[4] == 0.05 and "no DLRET" in notes[0]  # left missing, and said
    spec = DataSpec(returns=tmp_path / "x.csv", delisting=tmp_path / "d.csv", performance_delisting_return=-0.30)
    out, notes = compound_delistings(frame, delist, spec)
    assert np.isclose(out.ret[4], 1.05 * 0.70 - 1) and "take -0.3" in notes[0]


FRENCH = """This file was created by CMPT_ME_BEME_RETS_DAILY using the 202412 CRSP database.
The Tbill return is the simple daily rate that, over the number of trading days
in the month, compounds to 1-month TBill rate from Ibbotson and Associates Inc.

,Mkt-RF,SMB,HML,RF
20241226,    0.01,    0.82,   -0.13,    0.017
20241227,   -1.16,   -0.05,    0.57,    0.017
20241230,   -1.09,    0.19,    0.35,    0.017
20241231,   -0.46,    0.11,    0.75,    0.017

Copyright 2024 Kenneth R. French
"""


def test_ken_french_file_as_downloaded(tmp_path):
    (tmp_path / "F-F_Research_Data_Factors_daily.CSV").write_text(FRENCH)
    got = read_factors(tmp_path / "F-F_Research_Data_Factors_daily.CSV")["ff3"]
    assert list(got.columns) == ["mkt_rf", "smb", "hml", "rf"]
    assert got.index[1] == pd.Timestamp("2024-12-27") and got.loc["2024-12-27", "mkt_rf"] == -1.16
    assert got.loc["2024-12-31"].tolist() == [-0.46, 0.11, 0.75, 0.017] and len(got) == 4
    mom = ",Mom   \n20241230,   0.52\n20241231,  -0.10\n\nCopyright\n"
    (tmp_path / "mom.CSV").write_text("momentum file\n\n" + mom)
    assert read_factors(tmp_path / "mom.CSV")["mom"].mom.tolist() == [0.52, -0.10]


def test_monthly_and_unknown_factor_files(tmp_path):
    (tmp_path / "m.CSV").write_text("x\n\n,Mkt-RF,SMB,HML,RF\n202411,  6.51, 4.63, 0.09, 0.40\n")
    with pytest.raises(DataFileError, match="monthly factor file"):
        read_factors(tmp_path / "m.CSV")
    (tmp_path / "u.csv").write_text("when,a,b\n2024-01-02,1,2\n")
    with pytest.raises(DataFileError, match="layout eventstudy does not know"):
        read_factors(tmp_path / "u.csv")


def test_ticker_reuse_across_two_ranges(tmp_path):
    names = pd.DataFrame(
        {
            "PERMNO": [1, 2, 2],
            "TICKER": ["ABC", "ABC", "XYZ"],
            "COMNAM": ["OLD ABC", "NEW ABC", "NEW ABC"],
            "NAMEDT": [20000101, 20150101, 20100101],
            "NAMEENDT": [20141231, 20251231, 20141231],
        }
    )
    names.to_csv(tmp_path / "n.csv", index=False)
    book = read_names(tmp_path / "n.csv")
    assert book.lookup("ABC", pd.Timestamp("2012-05-01")) == "1"
    assert book.lookup("ABC", pd.Timestamp("2020-05-01")) == "2"
    assert book.lookup("ABC", pd.Timestamp("1990-05-01")) is None
    names.loc[0, "NAMEENDT"] = 20160630  # ABC names both on 2015-03-02
    names.to_csv(tmp_path / "both.csv", index=False)
    with pytest.raises(DataFileError, match="ABC names two identifiers on 2015-03-02: PERMNO 1 .* PERMNO 2"):
        read_names(tmp_path / "both.csv").lookup("ABC", pd.Timestamp("2015-03-02"))


def test_every_file_reads_its_dates_one_way_and_never_guesses_an_order(tmp_path):
    """A names file and a tidy factor file read [data] date_format as the returns file does; a
    date that is not one in it (or, without it, in YYYY-MM-DD or YYYYMMDD) is an error naming the
    file, the column and the line, never a date read another way or an open name range."""
    names = pd.DataFrame(
        {"PERMNO": [1, 2], "TICKER": ["ABC", "ABC"], "NAMEDT": ["01/02/2000", "01/03/2015"], "NAMEENDT": ["", ""]}
    )
    names.assign(NAMEENDT=["28/02/2015", ""]).to_csv(tmp_path / "n.csv", index=False)
    book = read_names(tmp_path / "n.csv", "%d/%m/%Y")
    assert (
        book.lookup("ABC", pd.Timestamp("2015-02-27")) == "1" and book.lookup("ABC", pd.Timestamp("2015-03-02")) == "2"
    )
    assert book.lookup("ABC", pd.Timestamp("2000-01-31")) is None  # 1 February, not 2 January
    with pytest.raises(DataFileError, match=r"\(column NAMEDT, line 2\): '01/02/2000' is not a date YYYY-MM-DD or YYY"):
        read_names(tmp_path / "n.csv")
    # an end that is no date was an open range before: PERMNO 1 then named ABC for ever, beside PERMNO 2
    names.assign(NAMEDT=[20000201, 20150301], NAMEENDT=["2/28/2015", "99991231"]).to_csv(
        tmp_path / "e.csv", index=False
    )
    with pytest.raises(DataFileError, match=r"\(column NAMEENDT, line 2\): '2/28/2015' is not a date .*date_format"):
        read_names(tmp_path / "e.csv")
    names.assign(NAMEDT=[20000201, 20150301], NAMEENDT=["2015-02-28", "9999-12-31"]).to_csv(
        tmp_path / "o.csv", index=False
    )
    assert read_names(tmp_path / "o.csv").lookup("ABC", pd.Timestamp("2026-06-01")) == "2"  # CIZ's open end
    tidy = pd.DataFrame({"date": ["30/12/2024", "31/12/2024"], "mkt_rf": [-1.09, -0.46], "smb": 0.1, "hml": 0.2})
    tidy.assign(rf=0.02).to_csv(tmp_path / "tidy.csv", index=False)
    got = read_factors(tmp_path / "tidy.csv", "%d/%m/%Y")["ff3"]
    assert list(got.index) == list(pd.to_datetime(["2024-12-30", "2024-12-31"])) and got.mkt_rf.tolist() == [
        -1.09,
        -0.46,
    ]
    with pytest.raises(
        DataFileError,
        match=r"\(column date, line 2\): '30/12/2024' is not a date YYYY-MM-DD or YYYYMMDD \(2 rows without one\)",
    ):
        read_factors(tmp_path / "tidy.csv")
    with pytest.raises(
        DataFileError, match="in \\[data\\] date_format '%m/%d/%Y' \\(2 rows without one\\): one format reads"
    ):
        read_factors(tmp_path / "tidy.csv", "%m/%d/%Y")


def test_names_file_with_overlapping_ranges(tmp_path):
    pd.DataFrame(
        {"PERMNO": [1, 1], "TICKER": ["A", "B"], "NAMEDT": [20000101, 20100101], "NAMEENDT": [20121231, 20201231]}
    ).to_csv(tmp_path / "n.csv", index=False)
    with pytest.raises(DataFileError, match="the ranges of PERMNO 1 overlap: A 2000-01-01 .. 2012-12-31 and B"):
        read_names(tmp_path / "n.csv")


def test_five_factor_and_tidy_decimal_files(tmp_path):
    five = "text\n\n,Mkt-RF,SMB,HML,RMW,CMA,RF\n20241230,-1.09,0.20,0.35,-0.10,0.05,0.017\n\nCopyright\n"
    (tmp_path / "ff5.CSV").write_text(five)
    got = read_factors(tmp_path / "ff5.CSV")
    assert got["ff5"].loc["2024-12-30", "rmw"] == -0.10 and list(got["ff3"].columns) == ["mkt_rf", "smb", "hml", "rf"]
    tidy = pd.DataFrame({"date": ["2024-12-30", "2024-12-31"], "mkt_rf": [-0.0109, -0.0046]})
    tidy.assign(smb=0.001, hml=0.002, rf=0.0002).to_csv(tmp_path / "tidy.csv", index=False)
    got = read_factors(tmp_path / "tidy.csv")["ff3"]  # decimals are made percent, as Ken French's files
    assert np.allclose(got.mkt_rf, [-1.09, -0.46]) and np.allclose(got.rf, 0.02)


def test_other_exchanges_roll_on_their_own_holidays():
    from eventstudy.core.calendar import roll_event_date

    day = roll_event_date("2025-04-18", "XLON")  # Good Friday; Easter Monday is closed too
    assert day.date == pd.Timestamp("2025-04-22")
    assert day.note == "2025-04-18 is not an XLON session; the event was rolled forward to 2025-04-22"
    assert roll_event_date("2025-01-27", "XTKS").date == pd.Timestamp("2025-01-27")
