"""Benchmarks for wiretale: a synthetic capture generator and timing scripts (never timed tests)."""
