"""The core: pure math on arrays and frames, no I/O.

Calendar arithmetic, event windows, return models, abnormal returns, the test statistics, the
in-memory engine, the streaming core and its Dask runner, exclusion reasons, the result objects
of one event study, and the plain-text tables their summaries print. Nothing here reads or
writes a file or the network: the returns, regressors and events come in as frames (or a
panel object that reads itself), the results go out as frames.

May import: the standard library, numpy, pandas, scipy, statsmodels, exchange_calendars, and
``eventstudy.errors`` / ``eventstudy._typing``. Never ``eventstudy.data``, ``.study``,
``.report`` or ``.cli``.
"""
