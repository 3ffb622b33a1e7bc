"""Benchmarks: each script prints its figures; none of them gates CI."""
