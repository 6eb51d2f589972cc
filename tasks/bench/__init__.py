"""Benchmarks (`infopipe bench <name>`): speed and memory measured by runs, written as JSON."""

from tasks.bench import checkpoints, compression, decoding, engine, entigraph, mi, models  # noqa: F401 - registers
from tasks.bench.registry import BENCHMARKS

__all__ = ["BENCHMARKS"]
