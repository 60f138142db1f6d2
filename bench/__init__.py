"""Benchmarks: ``python -m bench.engine_bench``."""
