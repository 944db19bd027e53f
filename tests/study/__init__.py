"""Tests of the study layer: study files, events, universes, claims, dollars, samples, placebo."""
