"""Benchmarks: figures printed for the issue notes, never asserted as timings in tests."""
