"""Benchmarks of the template: `python benchmarks/run.py` (see run.py and README.md)."""
