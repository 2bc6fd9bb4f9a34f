"""Benchmarks run by `make bench`: one `name=value` line per figure (ratios, medians)."""
