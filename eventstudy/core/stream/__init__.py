"""The streaming core: the event study of :func:`eventstudy.core.engine.run_event_study`, computed a
chunk of firms at a time from partial sums that add up across chunks.

Per chunk of firms (all their events):

1. **Estimation from cumulative sums.** Each firm's valid estimation days (return and
   regressors present, not inside another event of the firm) give running sums in calendar
   order of 1, x, xx′, y and xy (centred first: y on the firm's mean, x on each regressor's
   mean, so that no long running sum cancels against another); X′X and X′y of any estimation
   window are two look-ups and a subtraction, whatever its length (:func:`window_sums`, a
   block of sessions at a time). This first pass also gives the CARs and the SCAR sums.
2. **Abnormal returns** on the relative days of the design (the residuals on estimation days,
   σ̂² from them), CARs, their variances, SCARs; per firm-event tidy rows.
3. **Partial sums** per group (and window): the moments of CAR and SCAR, Patell's variance,
   signs, the daily sums of AR and of standardized ranks, the calendar-session sums of the
   calendar-time test, GRANK's rank sums, and r̄'s position sums of standardized residuals.

Sums of chunks add (:meth:`Partial.add`), in any grouping: the memory held is one chunk's,
and Dask (:mod:`eventstudy.core.distributed`) runs the same chunks on its workers and adds their sums
in a tree. Each chunk's tidy rows are written at their final places in the result's blocks as
they come (:class:`~eventstudy.core.stream.finish.Placed`: the firm-events with rows are known once
the first pass is done). :func:`finish` turns the total into the result frames; the tests are the
functions of :mod:`eventstudy.core.inference`, reading the sums through :class:`Moments`.

r̄ comes from the sum identity over standardized residuals (each firm-event's estimation
residuals demeaned and scaled to unit length over its own days, zero on days it lacks): exactly
the pairwise r̄ of complete residuals on one date, and within about 10⁻³ of the pairwise-complete
r̄ otherwise (tests/core/test_stream.py bounds it), in O(N·L), never over pairs. GRANK scales each
SCAR by the sample's s(SCAR), known only once every chunk's first pass is summed
(:func:`scar_partial`); the second pass (:func:`chunk_partial`: steps 2 and 3) then compares
each firm-event's SARs with its scaled SCAR.

The modules, in the order a run goes through them: :mod:`.plan` (what a run shares, the layout,
the chunks), :mod:`.first_pass`, :mod:`.second_pass` (with :mod:`.ranks`, each row's ranks),
:mod:`.finish`, and :mod:`.run` (the passes over the chunks on threads, with :mod:`.memory` for
the process's memory around them; :mod:`eventstudy.core.distributed` runs them on Dask);
:mod:`.kernel` loads the compiled loops.
"""

from __future__ import annotations

from .finish import finish
from .plan import CHUNK_EVENTS, Chunk, Layout, Plan
from .run import run, run_chunks
from .second_pass import Partial, total

__all__ = ["CHUNK_EVENTS", "Chunk", "Layout", "Partial", "Plan", "finish", "run", "run_chunks", "total"]
