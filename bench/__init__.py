"""Benchmarks; run modules with `python -m bench.<name>` from the project root."""
