"""Registered benchmarks of the decoding job (one file each), written as lm-eval YAML + JSONL."""

from tasks.decoding.benchmarks import arithmetic, world_qa  # noqa: F401 - register
from tasks.decoding.benchmarks.base import BENCHMARKS, Benchmark, write

__all__ = ["BENCHMARKS", "Benchmark", "write"]
