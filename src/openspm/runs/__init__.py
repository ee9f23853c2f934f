"""Calculation runs: compute, store, explain, compare."""
