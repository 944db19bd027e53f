"""Tests of the report layer: what a reader sees, and output sets that own their files."""
