"""eventstudy: market-impact event studies with the statistics researchers trust.

The five-line API (imported on first use, so that ``import eventstudy`` and the command line
start fast): :func:`build_events`, :func:`load_panel`, :func:`run_event_study`,
:func:`run_study`.
"""

__version__ = "0.1.0"

_API = {
    "build_events": "events",
    "load_panel": "sample",
    "run_event_study": "core.engine",
    "run_study": "pipeline",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'eventstudy' has no attribute {name!r}")
