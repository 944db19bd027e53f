"""What a reader sees: the report in Markdown, HTML and LaTeX, the figures, the results files
and their exports, written as one output set that owns exactly its files.

Reads results, never runs an analysis. May import: ``eventstudy.core``, ``eventstudy.data``
(its atomic file writer), ``eventstudy.study`` (the result objects and where a study lives),
``eventstudy.errors``. Never ``eventstudy.cli``.
"""
