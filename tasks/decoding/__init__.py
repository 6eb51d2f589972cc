"""Decoding strategies (samplers) and their evaluation: stage `decoding`."""

from tasks.decoding import (  # noqa: F401 - register the samplers
    ead,
    greedy,
    min_p,
    mirostat_v1,
    mirostat_v2,
    temperature,
    top_h,
    top_k,
    top_p,
    typical,
)
from tasks.decoding.base import SAMPLERS, Sampler, build, process

__all__ = ["SAMPLERS", "Sampler", "build", "process"]
