"""The command line's arguments: what ``eventstudy`` and each of its commands accept (the
commands themselves are :mod:`eventstudy.cli`'s)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """\
examples:
  eventstudy run deepseek-2025                 # from the committed snapshot: no download needed
  eventstudy run deepseek-2025 --model ff3 --window 0 2 --out /tmp/ds
  eventstudy run deepseek-2025 --refresh       # re-download prices through yfinance
  eventstudy placebo deepseek-2025 --draws 200 # how often each test rejects on dates without the event
  eventstudy fetch deepseek-2025               # fill the cache for a study
  eventstudy show deepseek-2025                # print a finished study's tables
  eventstudy init my-study --date 2024-08-05   # start a study of your own in analyses/my-study/
  eventstudy list
  eventstudy run exdiv-2024 --engine stream    # the core in chunks of firms (large samples)
  eventstudy panel returns/ --tickers AAPL MSFT --start 2024-01-02 --end 2025-06-30  # a parquet panel for Dask
"""


def parser() -> argparse.ArgumentParser:
    """The parser of ``eventstudy``'s arguments: a sub-command each, with its options."""
    p = argparse.ArgumentParser(
        prog="eventstudy",
        description="Market-impact event studies.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ._version import __version__

    p.add_argument("--version", action="version", version=f"eventstudy {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="tracebacks and more detail")
    common.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    common.add_argument(
        "--cache-dir", type=Path, help="price cache folder (default: $EVENTSTUDY_CACHE or the user cache)"
    )
    design = argparse.ArgumentParser(add_help=False)  # what `run` and `placebo` share
    design.add_argument(
        "study", help="a study name (./analyses/NAME/, else a shipped study) or a path to a study.toml or its folder"
    )
    mode = design.add_mutually_exclusive_group()
    mode.add_argument(
        "--offline", action="store_true", help="never touch the network: only the committed snapshot and the cache"
    )
    mode.add_argument("--refresh", action="store_true", help="download every price again through yfinance")
    design.add_argument(
        "--model",
        help="override the study's model (market, market-adjusted, constant-mean, dimson, scholes-williams, "
        "trade-to-trade, garch, ff3, carhart, ff5)",
    )
    design.add_argument(
        "--estimation", nargs=2, type=int, metavar=("START", "END"), help="estimation window in sessions"
    )
    design.add_argument(
        "--window",
        nargs=2,
        type=int,
        action="append",
        metavar=("START", "END"),
        help="an event window in sessions (repeatable; replaces the study's)",
    )
    design.add_argument("--out", type=Path, help="write the report and results here instead of the study's folder")
    design.add_argument(
        "--engine",
        choices=["auto", "memory", "stream", "dask"],
        help="how the core runs: auto (the default: chosen by the size), memory, stream (chunks of firms), dask",
    )
    design.add_argument(
        "--dask",
        nargs="?",
        const="local",
        metavar="SCHEDULER",
        help="run the core on Dask: a scheduler address (tcp://host:8786), or a local cluster when none is given",
    )
    design.add_argument("--chunk-size", type=int, help="firm-events per chunk of the stream and dask engines")
    design.add_argument(
        "--figure-format",
        choices=["png", "pdf", "svg"],
        default="png",
        help="also save the figures as PDF or SVG (vector, for a paper) beside the PNGs the reports show",
    )
    design.add_argument("--dpi", type=int, default=110, help="the figures' resolution (default 110)")
    design.add_argument(
        "--export",
        choices=["xlsx", "dta"],
        action="append",
        default=[],
        help="also write the results as results/results.xlsx (a sheet a table) or Stata files (results/stata/); "
        "repeatable",
    )
    sub.add_parser(
        "run",
        parents=[common, design],
        help="run a study and write its report",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    placebo = sub.add_parser(
        "placebo",
        parents=[common, design],
        help="run a study and its design on dates without the event: how often each test rejects there",
    )
    placebo.add_argument("--draws", type=int, default=200, help="pseudo-event dates to draw (default 200)")
    placebo.add_argument("--seed", type=int, default=1, help="the seed of the draws (default 1)")
    placebo.add_argument("--workers", type=int, help="processes for the draws (default: the cores; 1: this one)")
    fetch = sub.add_parser("fetch", parents=[common], help="download a study's prices into the cache")
    fetch.add_argument("study")
    fetch.add_argument("--refresh", action="store_true", help="download again even what the cache holds")
    wrds = sub.add_parser(
        "fetch-wrds", parents=[common], help="fetch a study's CRSP data from WRDS into parquet files for [data]"
    )
    wrds.add_argument("study")
    wrds.add_argument("--out", type=Path, required=True, help="the folder to write the parquet files in")
    wrds.add_argument("--layout", choices=["ciz", "legacy"], default="ciz", help="CRSP's CIZ tables or the legacy ones")
    show = sub.add_parser("show", parents=[common], help="print a finished study's tables")
    show.add_argument("study")
    sub.add_parser("list", parents=[common], help="list the studies: ./analyses/ and the shipped ones")
    init = sub.add_parser("init", parents=[common], help="write a new study folder analyses/NAME/ to start from")
    init.add_argument("name")
    init.add_argument(
        "--from", dest="template", default="deepseek-2025", help="the study to copy (default: deepseek-2025)"
    )
    init.add_argument(
        "--with-claims",
        action="store_true",
        help="a variant of the template's own event: keep what its study file says of that event (title, label, "
        "description, claims, the report's notes and marks), which is otherwise left out",
    )
    init.add_argument(
        "--force", action="store_true", help="write into a folder that holds files: only the files that are absent"
    )
    init.add_argument(
        "--date", type=iso_date, help="the new event's date, YYYY-MM-DD: set as [study] event_date (not for a sample)"
    )
    panel = sub.add_parser(
        "panel",
        parents=[common],
        help="write a parquet panel of daily returns (the dask engine reads it on its workers)",
    )
    panel.add_argument("folder", type=Path, help="the panel's folder (created; an earlier panel there is replaced)")
    source = panel.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", type=Path, help="returns from a CSV: wide (date, then one column per ticker) or long")
    source.add_argument("--tickers", nargs="+", help="total returns of these tickers from the snapshot or the cache")
    panel.add_argument("--start", type=iso_date, help="first session, YYYY-MM-DD (with --tickers)")
    panel.add_argument("--end", type=iso_date, help="last session, YYYY-MM-DD (with --tickers)")
    panel.add_argument("--offline", action="store_true", help="never download (with --tickers)")
    panel.add_argument("--per-file", type=int, default=500, help="tickers per parquet file (default 500)")
    snap = sub.add_parser("snapshot", parents=[common], help="rebuild the committed snapshot from a data folder")
    snap.add_argument("--from", dest="source", type=Path, required=True, help="the shared data folder")
    return p


def iso_date(text: str) -> str:
    """A date option: YYYY-MM-DD and a real day, else argparse's usage error (exit 2)."""
    import datetime

    try:
        if len(text.strip()) != 10:
            raise ValueError("write it as YYYY-MM-DD")
        return datetime.date.fromisoformat(text.strip()).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD ({exc})") from None
