"""Tests of the command line and end to end: what a user types and gets."""
