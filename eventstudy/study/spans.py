"""What data a study asks for: its tickers and the sessions its windows reach (for a fetch
from WRDS before the study has data of its own)."""

from __future__ import annotations

import pandas as pd

from ..core import calendar
from .spec import Study


def study_tickers_and_span(study: Study) -> tuple[list[str], pd.Timestamp, pd.Timestamp]:
    """The tickers of the groups (or of the events file) and the first and last session any
    estimation window, event window or path reaches."""
    far = max(w.end for w in (*study.windows, study.path))
    if study.is_sample:
        from .sample import read_events

        events = read_events(study).events
        tickers = list(dict.fromkeys(events.ticker))
        first, last = events.event_date.min(), events.event_date.max()
    else:
        tickers = sorted({t for g in study.groups.values() for t in g.tickers})
        first = last = calendar.roll_event_date(study.event_date, study.exchange).date
    start = calendar.session_offset(first, study.estimation.start - 1, study.exchange)
    end = calendar.session_offset(last, far, study.exchange)
    return tickers, start, end
