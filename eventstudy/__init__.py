"""eventstudy: market-impact event studies with the statistics researchers trust."""

__version__ = "0.1.0"
