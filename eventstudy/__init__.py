"""eventstudy: market-impact event studies with the statistics researchers trust.

``import eventstudy as es``, then ``es.load_study``, ``es.run_study``, ``es.run_event_study``,
... : the public names are those of :mod:`eventstudy.api` (its ``__all__``, which is also
``eventstudy.__all__``), loaded on first use so that ``import eventstudy`` and the command line
start fast.

The package in layers, each a folder that imports only from the layers below it:
``core/`` (pure math), ``data/`` (market data I/O), ``study/`` (what a study is and does),
``report/`` (what a reader sees), and on top ``cli.py`` and ``api.py``.
"""

from ._version import __version__ as __version__


def _api():
    import importlib

    return importlib.import_module(".api", __name__)


def __getattr__(name: str):
    """The public names (and ``__all__`` itself), from :mod:`eventstudy.api` on first use. A
    submodule's name (``from eventstudy import cli``) is left to the import system, which then
    loads that module alone."""
    import importlib.util

    if name.startswith("__") and name != "__all__" or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(f"module 'eventstudy' has no attribute {name!r}")
    api = _api()
    if name == "__all__" or name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'eventstudy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_api().__all__])
