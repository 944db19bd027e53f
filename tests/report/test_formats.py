"""Formats for a paper: vector figures and a chosen resolution, the results as an Excel workbook
and as Stata files — each the same numbers as the CSVs, and the same bytes on a rerun."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pandas as pd
import pytest

from eventstudy.cli import main
from eventstudy.report.exports import stata_names, write_dta

from ..helpers import study_file


def _run(path, out, *options):
    assert main(["run", str(path), "--offline", "--quiet", "--out", str(out), *options]) == 0
    return out


def _png_size(path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return study_file(tmp_path_factory.mktemp("formats"), tickers='["NVDA", "MSFT", "AMD", "AVGO"]')


def test_vector_figures_beside_the_pngs_the_same_bytes_each_run(study, tmp_path):
    for fmt in ("pdf", "svg"):
        a = _run(study, tmp_path / f"{fmt}1", "--figure-format", fmt)
        b = _run(study, tmp_path / f"{fmt}2", "--figure-format", fmt)
        made = sorted(p.name for p in (a / "figures").glob(f"*.{fmt}"))
        assert made == sorted(p.with_suffix(f".{fmt}").name for p in (a / "figures").glob("*.png"))
        for name in made:
            assert (a / "figures" / name).read_bytes() == (b / "figures" / name).read_bytes(), name
        assert (a / "figures" / made[0]).read_bytes()[:5] in (b"%PDF-", b"<?xml")
    plain = _run(study, tmp_path / "png")
    assert not list((plain / "figures").glob("*.pdf")) and not list((plain / "figures").glob("*.svg"))


def test_the_dpi_sets_the_pngs_resolution(study, tmp_path, capsys):
    low = _run(study, tmp_path / "low")
    high = _run(study, tmp_path / "high", "--dpi", "220")
    w, h = _png_size(low / "figures" / "caar_paths.png")
    assert _png_size(high / "figures" / "caar_paths.png") == pytest.approx((2 * w, 2 * h), abs=2)
    assert main(["run", str(study), "--offline", "--dpi", "5"]) == 2
    assert "dpi must be a whole number from 20 to 1200" in capsys.readouterr().err


def test_excel_and_stata_hold_the_csvs_numbers(study, tmp_path):
    out = _run(study, tmp_path / "x", "--export", "xlsx", "--export", "dta")
    results = out / "results"
    sheets = pd.read_excel(results / "results.xlsx", sheet_name=None)
    csvs = {p.stem: p for p in results.glob("*.csv")}
    assert set(sheets) == set(csvs)
    for name, path in csvs.items():
        want = pd.read_csv(path)
        got = sheets[name]
        assert list(got.columns) == list(want.columns) and len(got) == len(want), name
        for c in want.select_dtypes("number"):
            np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-9, err_msg=name)
        stata = pd.read_stata(results / "stata" / f"{name}.dta")
        assert list(stata.columns) == stata_names(want.columns) and len(stata) == len(want), name
        for c, s in zip(want.columns, stata.columns, strict=True):
            if pd.api.types.is_float_dtype(want[c]) and want[c].notna().any():  # an empty text column reads as NaN
                np.testing.assert_allclose(stata[s].to_numpy(float), want[c].to_numpy(float), rtol=1e-9)
    again = _run(study, tmp_path / "y", "--export", "xlsx", "--export", "dta")
    assert (again / "results" / "results.xlsx").read_bytes() == (results / "results.xlsx").read_bytes()
    assert (again / "results" / "stata" / "car.dta").read_bytes() == (results / "stata" / "car.dta").read_bytes()


def test_stata_names():
    assert stata_names(["p_kolari-pynnonen", "1st", "a b", "x" * 40, "x" * 40, "short", "str12", "_n", "strong"]) == [
        "p_kolari_pynnonen",
        "_1st",
        "a_b",
        "x" * 32,
        "x" * 30 + "_2",
        "short_",
        "str12_",
        "_n_",
        "strong",
    ]


def test_a_column_stata_reserves_is_renamed_by_us_and_keeps_its_name_as_label(tmp_path):
    """BHAR's table has a column ``short``, a name Stata reserves: pandas would rename it itself
    with a warning on the user's screen."""
    frame = pd.DataFrame({"ticker": ["A", "B"], "bhar": [0.1, -0.2], "short": [False, True], "ci-lo": [0.0, 1.0]})
    path = tmp_path / "bhar.dta"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_dta(frame, path)
    with pd.io.stata.StataReader(path) as reader:
        back, labels = reader.read(), reader.variable_labels()
    assert list(back.columns) == ["ticker", "bhar", "short_", "ci_lo"]
    assert labels["short_"] == "short" and labels["ci_lo"] == "ci-lo" and labels["bhar"] == ""
    assert back.short_.tolist() == [0, 1]
