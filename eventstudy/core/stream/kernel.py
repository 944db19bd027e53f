"""The streamed passes' heaviest loops, compiled: the C extension ``_loops`` (``_loops.c`` beside
this file), built when the package is installed where a C compiler is (``setup.py``; left out where
none is, and the numpy steps run). They are the first pass's running sums of every estimation window
(``estimation_sums``, which marks the valid days as it reads each firm's row), and the second
pass's ARs on the grid (``grid_residuals``), each row's sort keys (``row_codes``, 32-bit, or
``row_keys``, 64-bit; numpy sorts them) and the ranks from their order (``place_codes``,
``place_ranks``), GRANK's comparisons of each row's SARs with its SCAR* and
their weighted sums over the rows (``compare_sars``, each row's SARs worked out as it is read), and
r̄'s standardized rows summed by calendar position, each row standardized where it is read
(``rbar_sums``; with numpy's pairwise sums, ``pairwise_sum``; ``standardized_rows`` gives the rows
themselves, for the sums by coverage stratum of a sample on one date), the sums of a block's ARs,
their counts and ranks by group and window (``group_window_sums``), the calendar-time test's sums by
session (``calendar_sums``), the chunks' r̄ sums added into the total (``add_rows``), and, after the
passes, r̄'s sums of products of those totals at each distance (``lag_products``).

Each does the numpy steps' arithmetic in their order (the same products, the running sums added
session after session, integer ranks and counts, the same one division, each row's sums in
numpy's pairwise order, each position's rows as scipy's sparse product adds them), so the
compiled loops and the numpy steps they stand in for
(:func:`eventstudy.core.stream.first_pass.window_sums` and ``abnormal``,
:func:`eventstudy.core.stream.ranks.grid_ranks`, ``second_pass._compare``, ``_zero_filled_rows``,
``_RbarSums.add``, ``group_window_sums``, ``_calendar_sums``, ``ByPosition.add_into`` and
:func:`eventstudy.core.stream.finish.lag_products`) give the same bits: which one runs changes the
time, never a number (tests/core/test_kernel.py holds them to it). The few sums whose order BLAS
chooses (a block's dot products by window) stay numpy's.

The loops run without the GIL (the stream's threads run them side by side) and take only
C-contiguous arrays of the types they name (a TypeError otherwise). Loading them is importing one
small module: unlike numba, whose set-up cost about 0.25 s a process, they pay from the first
firm-event, so a run uses them whenever they were built.
"""

from __future__ import annotations

from collections.abc import Callable

try:
    from . import _loops
except ImportError:  # installed without a C compiler: the numpy steps run, with the same numbers
    _loops = None

MISSING = (
    "the compiled loops were not built when this package was installed (no C compiler was found); "
    "install a C compiler (gcc or clang) and reinstall the package, or leave compiled=None"
)


def available() -> bool:
    """Whether the compiled loops were built."""
    return _loops is not None


def required(compiled: bool | None) -> bool:
    """Whether a run uses the compiled loops (``run_event_study(compiled=...)``): None (the
    default) when they were built, True always (an ImportError when they were not), False never."""
    if compiled is None:
        return available()
    if compiled and not available():
        raise ImportError(f"compiled=True: {MISSING}")
    return bool(compiled)


def compiled(name: str) -> Callable[..., None]:
    """The compiled loop ``name``."""
    if _loops is None:
        raise ImportError(MISSING)
    return getattr(_loops, name)
