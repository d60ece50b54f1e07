"""Benchmarks against a floor measured in the same run; not part of `make test`."""
