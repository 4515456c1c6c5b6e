"""Benchmarks of the mock (not part of the test suite): ``python -m bench.run``."""
