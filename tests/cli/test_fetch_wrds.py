"""``eventstudy fetch-wrds`` with a fake WRDS connection: the SQL it sends, the files it writes,
and that those files run as the study's [data]."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from eventstudy.cli import _cmd_fetch_wrds
from eventstudy.errors import DataError
from tests.helpers import REPO


class FakeWRDS:
    """Answers WRDS's ``raw_sql`` from the shipped example's CRSP-layout files; records the SQL."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []
        ex = REPO / "analyses" / "crsp-format-example"
        self.names = pd.read_csv(ex / "stocknames.csv").rename(columns=str.lower)
        self.dsf = pd.read_csv(ex / "dsf.csv").rename(columns=str.lower)
        self.dsi = pd.read_csv(ex / "dsi.csv").rename(columns=str.lower)

    def raw_sql(self, sql: str, params: dict) -> pd.DataFrame:
        self.sent.append((sql, params))
        ciz = "_v2" in sql or "stksecurityinfohist" in sql or "inddlyseriesdata" in sql
        if "crsp.stocknames" in sql or "crsp.stksecurityinfohist" in sql:
            names = self.names[self.names.ticker.isin(params["tickers"])]
            ciz_names = {"comnam": "issuernm", "namedt": "secinfostartdt", "nameenddt": "secinfoenddt"}
            return names.rename(columns=ciz_names) if ciz else names
        if "crsp.dsf" in sql:
            d = self.dsf[self.dsf.permno.isin(params["permnos"])]
            lo, hi = (int(params[k].replace("-", "")) for k in ("start", "end"))
            d = d[(d.date >= lo) & (d.date <= hi)]
            ciz_dsf = {"date": "dlycaldt", "ret": "dlyret", "prc": "dlyprc", "vol": "dlyvol"}
            return d.rename(columns=ciz_dsf) if ciz else d
        if "crsp.dsedelist" in sql:
            return pd.DataFrame({"permno": [], "dlstdt": [], "dlret": [], "dlstcd": []})
        return self.dsi.rename(columns={"spy": "vwretd"})


@pytest.mark.parametrize("layout", ["ciz", "legacy"])
def test_fetch_wrds_sends_the_study_s_tickers_and_span_and_writes_parquet(tmp_path, capsys, layout):
    study = tmp_path / "study.toml"
    study.write_text(
        '[study]\nname = "w"\ntitle = "w"\nevent_date = 2025-01-27\n\n[model]\nbenchmark = "SPY"\n\n'
        '[groups]\nchips = ["NVDA", "AMD"]\n'
    )
    db = FakeWRDS()
    args = argparse.Namespace(study=str(study), out=tmp_path / "crsp", layout=layout)
    assert _cmd_fetch_wrds(args, db) == 0
    names_sql, names_params = db.sent[0]
    table = {"ciz": "from crsp.stksecurityinfohist", "legacy": "from crsp.stocknames"}[layout]
    assert table in names_sql and names_params["tickers"] == ("AMD", "NVDA")
    assert db.sent[1][1] == {"permnos": (90001, 90007), "start": "2024-01-25", "end": "2025-02-10"}
    files = {"dsf.parquet", "dsi.parquet", "stocknames.parquet"} | (
        {"dsedelist.parquet"} if layout == "legacy" else set()
    )
    assert {p.name for p in (tmp_path / "crsp").iterdir()} == files
    # the printed [data] table, pasted into the study file, runs the study on the fetched files
    pasted = capsys.readouterr().out.split("add to study.toml:\n\n")[1].split("\n\nand set")[0]
    study.write_text(study.read_text().replace('benchmark = "SPY"', 'benchmark = "vwretd"') + "\n" + pasted + "\n")
    import eventstudy as es

    res = es.run_study(str(study))
    assert sorted(res.main.events.ticker) == ["AMD", "NVDA"]
    with pytest.raises(DataError, match="already holds"):  # nothing is overwritten
        _cmd_fetch_wrds(args, FakeWRDS())


def test_the_span_fetched_reaches_what_the_study_reads_its_long_windows_and_dimsons_lead(tmp_path):
    """fetch-wrds asks for the sessions the study will read: as far as its [long] windows, and one
    session past the path for Dimson's lead (it stopped at the path: the BHARs were cut short)."""
    import warnings

    import exchange_calendars as xcals

    from eventstudy.study.spans import study_tickers_and_span
    from eventstudy.study.studyfile import load_study

    base = '[study]\nname = "w"\ntitle = "w"\nevent_date = 2025-01-27\n\n[model]\nbenchmark = "SPY"\n{model}\n'
    base += '[groups]\nchips = ["NVDA", "AMD"]\n{long}'
    with warnings.catch_warnings():  # exchange_calendars' own pandas deprecation, as core.calendar silences it
        warnings.filterwarnings("ignore", message=".*drops timezone information.*")
        sessions = xcals.get_calendar("XNYS").sessions_in_range("2025-01-27", "2025-06-30")
    cases = {
        ("", "\n[long]\nwindows = [[1, 40]]\n"): sessions[40],
        ('thin_trading = "dimson"\n', ""): sessions[11],  # the default path ends at +10
        ("", ""): sessions[10],
    }
    for (model, long), end in cases.items():
        path = tmp_path / "study.toml"
        path.write_text(base.format(model=model, long=long))
        tickers, _, last = study_tickers_and_span(load_study(path))
        assert tickers == ["AMD", "NVDA"] and last == end.tz_localize(None)
