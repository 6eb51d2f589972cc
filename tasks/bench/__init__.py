"""Benchmarks (`infopipe bench <name>`): speed and memory measured by runs, written as JSON."""

from tasks.bench import (  # noqa: F401 - registers
    checkpoints,
    compression,
    decoding,
    engine,
    entigraph,
    generators,
    mi,
    models,
    reliability,
    repro,
)
from tasks.bench.registry import BENCHMARKS

__all__ = ["BENCHMARKS"]
