"""Command line: ``eventstudy run|placebo|list|init|fetch|show|snapshot``. The only module that prints.

Exit codes: 0 success, 1 an analysis, data or disk error, 2 a usage error, 3 an internal
error (a bug), 130 interrupted. Errors go to stderr as one message of ours, without a
traceback unless ``--verbose``.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import os
import sys
from pathlib import Path

from .arguments import parser
from .errors import EventStudyError, PlaceboError, StudyFileError
from .report.outputs import OutputError

PLAIN_STEPS = 4  # lines of progress when stderr is not a terminal (a pipe, a log file)


def _progress(quiet: bool, what: str = "prices", unit: str = "tickers"):
    """Progress of the price loading (or of ``what``, counted in ``unit``): a bar on a
    terminal; a few plain lines when stderr is piped or logged (at the start and at each
    quarter); nothing under ``--quiet``."""
    if quiet:
        return None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar: dict[str, tqdm] = {}

        def update(done: int, total: int, ticker: str) -> None:
            if "bar" not in bar:
                bar["bar"] = tqdm(total=total, desc=what, unit=unit.rstrip("s"), file=sys.stderr, leave=False)
            bar["bar"].set_postfix_str(ticker)
            bar["bar"].update(1)
            if done == total:
                bar.pop("bar").close()

        return update

    def plain(done: int, total: int, ticker: str) -> None:
        marks = {max(1, round(total * k / PLAIN_STEPS)) for k in range(1, PLAIN_STEPS + 1)}
        if done == 1:
            print(f"{what}: {total} {unit}", file=sys.stderr, flush=True)
        if done in marks:
            print(f"{what}: {done}/{total}", file=sys.stderr, flush=True)

    return plain


def _cmd_run(a) -> int:
    from .core.windows import Window
    from .report.render import FigureStyle
    from .study.checks import with_overrides
    from .study.studyfile import load_study
    from .study.workspace import find_study, shown, working_copy

    def checked(path):
        """The study file with the command line's overrides, checked as the file is (a problem
        of the file is the file's; one of the overrides is a usage error)."""
        study = load_study(path)
        try:
            return with_overrides(
                study,
                model=a.model,
                estimation=Window(*a.estimation, "estimation") if a.estimation else None,
                windows=tuple(Window(*w) for w in a.window) if a.window else None,
            )
        except (ValueError, StudyFileError) as exc:
            raise UsageError(f"--model/--estimation/--window: {exc}") from None

    _check_numbers(a)
    found = find_study(a.study)
    checked(found)  # every bound checked before anything is copied, allocated or read
    try:
        style = FigureStyle(("png", a.figure_format), a.dpi)
    except ValueError as exc:
        raise UsageError(f"--figure-format/--dpi: {exc}") from None
    if "xlsx" in a.export and importlib.util.find_spec("openpyxl") is None:
        raise UsageError("--export xlsx needs openpyxl: pip install 'eventstudy-workbench[export]'")
    path = found if a.out else working_copy(found)
    if path != found and not a.quiet:
        print(f"copied the shipped study {a.study} to {shown(path.parent)}/ (edit it there and run it again)")
    study = checked(path)
    from .report import writer as report
    from .report.render import FigureWorkers
    from .study.pipeline import run_study

    plan = report.plan_output(study, a.out, style=style, exports=tuple(a.export))  # checked now, not after
    kwargs = {"cache": _cache(a)} if a.cache_dir else {}
    failed = None
    # the worker gets ready while the analysis runs, and draws the figures of its first results while the rest runs
    with FigureWorkers() as workers, report.Writing(plan, workers) as writing:
        res = run_study(
            study,
            offline=a.offline,
            refresh=a.refresh,
            progress=_progress(a.quiet),
            engine=_engine(a),
            ready=writing.ready,
            **kwargs,
        )
        if a.command == "placebo":
            try:
                res = _with_placebo(res, a, kwargs)
            except PlaceboError as exc:  # the study's own report is still written
                failed = exc
        else:
            res = _kept_placebo(res, plan.out / "results")
        path = writing.write(res)
    if not a.quiet:
        print(res.summary())
        if a.command == "placebo" and res.placebo is not None:
            from .report.group_tests import placebo_trust_text

            print(placebo_trust_text(res))
        print(f"\nreport: {shown(path)}")
    if failed is not None:
        raise failed
    return 0


def _check_numbers(a) -> None:
    """The numbers a command takes, in range before anything is read or allocated."""
    if a.chunk_size is not None and a.chunk_size < 1:
        raise UsageError(f"--chunk-size must be a positive number of firm-events, got {a.chunk_size}")
    if getattr(a, "draws", 1) < 1:
        raise UsageError(f"--draws must be at least 1, got {a.draws}")
    if (workers := getattr(a, "workers", None)) is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if getattr(a, "draws", 1) > MAX_DRAWS:
        raise UsageError(f"--draws must be at most {MAX_DRAWS:,}, got {a.draws:,}")


MAX_DRAWS = 100_000


def _engine(a):
    """The engine the options ask for (--engine, --dask, --chunk-size)."""
    from .core.runspec import Engine

    name = "dask" if a.dask else (a.engine or "auto")
    if a.dask and a.engine not in (None, "dask"):
        raise UsageError(f"--dask runs the dask engine; it cannot go with --engine {a.engine}")
    if name == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError("--dask needs dask and distributed: pip install 'eventstudy-workbench[dask]'") from None
    scheduler = None if a.dask in (None, "local") else a.dask
    return Engine(name, a.chunk_size or Engine.chunk_size, scheduler=scheduler)


def _with_placebo(res, a, kwargs):
    from dataclasses import replace

    from .study.placebo import run_placebo

    progress = _progress(a.quiet, "placebo", "draws")
    spread = {"workers": a.workers, "scheduler": a.dask or None}  # --dask: the draws on the cluster ("local": here)
    plac = run_placebo(res.study, a.draws, a.seed, real=res, offline=a.offline, progress=progress, **spread, **kwargs)
    return replace(res, placebo=plac)


def _kept_placebo(res, folder: Path):
    """The placebo of an earlier `eventstudy placebo`, kept while it fits (:func:`eventstudy.study.placebo.kept`);
    dropped with a note when it does not."""
    from dataclasses import replace

    from .study.placebo import kept

    plac, note = kept(folder, res)
    return replace(res, placebo=plac, notes=(*res.notes, note) if note else res.notes)


def _cache(a):
    from .data import PriceCache

    return PriceCache(a.cache_dir) if a.cache_dir else None


def _cmd_fetch(a) -> int:
    from .study.pipeline import run_study

    res = run_study(
        a.study,
        offline=False,
        refresh=a.refresh,
        progress=_progress(a.quiet),
        **({"cache": _cache(a)} if a.cache_dir else {}),
    )
    if not a.quiet:
        print(res.provenance.origin.value_counts().to_string())
    return 0


def _cmd_fetch_wrds(a, connection=None) -> int:
    from .data.wrds import data_table, fetch_wrds
    from .study.spans import study_tickers_and_span
    from .study.studyfile import load_study

    study = load_study(a.study)
    tickers, start, end = study_tickers_and_span(study)
    paths = fetch_wrds(tickers, start, end, a.out, connection, a.layout)
    print(f"wrote {', '.join(map(str, paths.values()))}\nadd to {study.path_file.name}:\n")
    print(data_table(paths, study.folder))
    return 0


def _cmd_show(a) -> int:
    """A finished study's report for the terminal: its text and tables, aligned, without the
    figures and markup (REPORT.html and REPORT.md have everything)."""
    from .core.tables import terminal_text
    from .study.workspace import default_out, find_study, shown

    path = find_study(a.study)
    report = default_out(path) / "REPORT.md"
    if not report.is_file():
        from .study.studyfile import load_study

        load_study(path)  # a file that is no study says so, not "no report yet"
        raise EventStudyError(f"{a.study} has no report yet: run `eventstudy run {a.study}` first")
    print(terminal_text(report.read_text()))
    print(f"(figures and sortable tables: {shown(report.with_suffix('.html'))})")
    return 0


def _cmd_list(a) -> int:
    """Every study with its date and title, the shipped ones marked; a study file with
    problems is listed as such (``eventstudy run`` on it prints them), never hiding the others."""
    from .core.tables import count_of
    from .study.studyfile import load_study
    from .study.workspace import list_studies

    for entry in list_studies():
        mark = "shipped" if entry.shipped else "local"
        try:
            s = load_study(entry.path)
        except StudyFileError as exc:
            why = f"not valid: {count_of(len(exc.problems), 'problem')}; run it to see them"
            print(f"{entry.name:20s} {'-':10s} {mark:8s} ({why})")
            continue
        when = "sample" if s.is_sample else f"{s.event_date:%Y-%m-%d}"
        print(f"{s.name:20s} {when:10s} {mark:8s} {s.title}")
    return 0


def _cmd_init(a) -> int:
    from .study.workspace import InitError, init_study, shown

    try:
        date = datetime.date.fromisoformat(a.date) if a.date else None
        done = init_study(a.name, a.template, with_claims=a.with_claims, force=a.force, event_date=date)
    except InitError as exc:
        raise UsageError(str(exc)) from None
    if not a.quiet:
        kept = f"; kept what was there: {', '.join(done.kept)}" if done.kept else ""
        print(
            f"wrote {shown(done.path.parent)}/ from {a.template} ({', '.join(done.written) or 'nothing'}){kept}: "
            f"edit {done.path.name}, then `eventstudy run {a.name}`"
        )
        if done.left_out:
            print(
                f"left out what {a.template} said of its own event: {', '.join(done.left_out)} "
                "(--with-claims keeps them)"
            )
    for said in done.not_left_out:  # said even with --quiet: the new study still tells the template's event
        print(
            f"note: {done.path.name} still has {a.template}'s {said} (written in a form init does not edit): set "
            "it by hand",
            file=sys.stderr,
        )
    return 0


def _cmd_panel(a) -> int:
    from .core.tables import count_of
    from .data.panel import read_returns_csv, write_panel
    from .study.workspace import shown

    if a.per_file < 1:
        raise UsageError(f"--per-file must be a positive number of tickers, got {a.per_file}")
    if a.csv:
        returns = read_returns_csv(a.csv)
    else:
        from .core.returns import session_returns
        from .data import load_market_data

        if not (a.start and a.end):
            raise UsageError("--tickers needs --start and --end (the sessions of the panel)")
        if a.start > a.end:
            raise UsageError(f"--start {a.start} is after --end {a.end}: no session lies between")
        data = load_market_data(
            a.tickers, a.start, a.end, offline=a.offline, **({"cache": _cache(a)} if a.cache_dir else {})
        )
        returns, _ = session_returns(data.prices.frames, a.start, a.end)
        for ticker, why in data.prices.failed.items():
            _say(a, f"left out {ticker}: {why}")
        returns = returns[[t for t in returns.columns if t in data.prices.frames]]
    made = write_panel(returns, a.folder, a.per_file)
    size = f"{len(made.columns)} tickers × {len(made.index)} sessions"
    _say(a, f"wrote {shown(made.path)}/: {size} in {count_of(len(made.files), 'file')}")
    return 0


def _say(a, text: str) -> None:
    """A line for the user, unless --quiet."""
    if not a.quiet:
        print(text)


def _cmd_snapshot(a) -> int:
    from .data.snapshot import build_snapshot

    entries = build_snapshot(a.source)
    tickers = sum(":" in e.path for e in entries)
    tables = sum(e.path.startswith("tables/") for e in entries)
    _say(a, f"wrote the prices of {tickers} tickers (one file), {tables} tables and MANIFEST")
    return 0


class UsageError(Exception):
    """A command-line option that cannot work with the study (exit code 2, like argparse's)."""


def entry() -> None:
    """The ``eventstudy`` command and ``python -m eventstudy``: :func:`main`, then the process
    ends at once with its status. By then a command has closed everything it opened (its files,
    its worker processes and their shared memory), so Python's clean-up of the modules loaded (a
    quarter of a second with pandas and matplotlib, paid after the work is done) is skipped; the
    output is flushed first. A run that started Dask leaves through Python's exit handlers."""
    code = main()
    if "distributed" in sys.modules:  # a Dask cluster's processes and queues: Python's exit handlers end them
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    sessions = args.command not in ("list", "init", "snapshot")  # a command that counts sessions
    if sessions:  # the exchanges' sessions kept in the cache folder for the day (data.calendars)
        from .core import calendar
        from .data.calendars import SessionFiles

        calendar.keep_sessions_in(SessionFiles(getattr(args, "cache_dir", None)))
    try:
        return {
            "run": _cmd_run,
            "placebo": _cmd_run,
            "fetch": _cmd_fetch,
            "fetch-wrds": _cmd_fetch_wrds,
            "panel": _cmd_panel,
            "show": _cmd_show,
            "list": _cmd_list,
            "init": _cmd_init,
            "snapshot": _cmd_snapshot,
        }[args.command](args)
    except (UsageError, StudyFileError, OutputError) as exc:  # what was typed or written cannot work: nothing ran
        if args.verbose and not isinstance(exc, UsageError):
            raise
        print(f"eventstudy: error: {exc}", file=sys.stderr)
        return 2
    except (EventStudyError, ValueError) as exc:
        if args.verbose:
            raise
        print(f"eventstudy: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`eventstudy list | head -1`): nothing more to say
        return 141  # as a shell reports a command ended by SIGPIPE
    except OSError as exc:  # the disk said no: a full disk, a folder we may not write
        if args.verbose:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"eventstudy: error: {where}{exc.strerror or exc} (a run's outputs are never half-written: the "
            "previous ones stand, or the next run finishes replacing them)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("eventstudy: interrupted; the previous outputs and the cache are unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: say so in one line, the traceback under --verbose
        if args.verbose:
            raise
        print(
            f"eventstudy: internal error ({type(exc).__name__}: {exc}); please report it with the output of --verbose",
            file=sys.stderr,
        )
        return 3
    finally:
        if sessions:
            calendar.keep_sessions_in(None)
