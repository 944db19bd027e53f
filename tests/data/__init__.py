"""Tests of the data layer: sources, cache, snapshot, prices and their checks."""
