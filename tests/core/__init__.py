"""Tests of the core: every statistic against a value known by construction, a textbook
formula or a second implementation."""
