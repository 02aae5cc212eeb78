"""Benchmarks: what Prompter's telemetry costs, measured beside the bare app and Litestar's own plugins.

`python -m bench` runs everything and writes bench/results/results.md and results.json; see bench/run.py.
Not part of the installed package and not a test: nothing here asserts a timing.
"""
