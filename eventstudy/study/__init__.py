"""What a study is and does: the study file and its validation, where studies live (the
workspace) and what a new one takes from its template, events files, universes and benchmarks,
market values and dollar effects, the claims checked against the numbers, the pipeline that runs
a study, samples of events on their own dates, their second stage, and the placebo.

May import: ``eventstudy.core``, ``eventstudy.data``, ``eventstudy.errors``,
``eventstudy._typing``. Never ``eventstudy.report`` or ``eventstudy.cli``.
"""
