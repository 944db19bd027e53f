"""``engine="auto"`` (the default) picks the in-memory engine for small runs and the firm-by-firm
models, the streamed one above :data:`AUTO_MEMORY_EVENTS`, and says which and why."""

from __future__ import annotations

import pandas as pd
import pytest

from eventstudy.core import engine as core_engine
from eventstudy.core.engine import AUTO_MEMORY_EVENTS, choose_engine, run_event_study
from eventstudy.core.models import get_model

from ..helpers import synthetic_panel


def test_the_choice_and_its_reason():
    events = pd.DataFrame({"event_id": range(10)})
    frame = pd.DataFrame()
    assert choose_engine(frame, events, get_model("market")) == (
        "memory",
        f"chosen automatically: 10 firm-events, at most {AUTO_MEMORY_EVENTS:,} run in memory",
    )
    many = pd.DataFrame({"event_id": range(AUTO_MEMORY_EVENTS + 1)})
    assert choose_engine(frame, many, get_model("market"))[0] == "stream"
    assert choose_engine(frame, many, get_model("garch"))[0] == "memory"  # fitted firm by firm
    assert choose_engine(object(), events, get_model("market"))[0] == "dask"  # a parquet panel


def test_the_default_run_says_which_engine_it_chose(monkeypatch):
    returns, regressors, events = synthetic_panel(30, 300, seed=1)
    small = run_event_study(returns, regressors, events)
    assert small.engine == "memory" and small.engine_reason.startswith("chosen automatically: 30 firm-events")
    assert "chosen automatically" in small.summary().as_text()
    monkeypatch.setattr(core_engine, "AUTO_MEMORY_EVENTS", 10)
    large = run_event_study(returns, regressors, events)
    assert large.engine == "stream" and "more than 10 are streamed" in large.engine_reason
    pd.testing.assert_frame_equal(large.car, small.car, rtol=1e-10)
    with pytest.raises(ValueError, match="unknown engine"):
        run_event_study(returns, regressors, events, engine="fast")
