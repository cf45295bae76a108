"""Benchmarks of issue 6: quality, speed, streaming and dedupe state, side by side.

Run `python -m bench [quality|speed|stream|state ...] [--quick]`; the report goes to
bench/results/REPORT.md (git-ignored) and a short summary to bench/results/SUMMARY.md.
"""
