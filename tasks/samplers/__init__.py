"""Decoding strategies (samplers), one per file, registered by name; the engines run them (inside
vLLM as a logits processor, under transformers as a logits processor) and stage `decoding`
scores them."""

from tasks.samplers import (  # noqa: F401 - register the samplers
    ead,
    extractive,
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
from tasks.samplers.base import LN2, SAMPLERS, Sampler, build, process
from tasks.samplers.config import SamplerSetting, SamplingConfig

__all__ = ["LN2", "SAMPLERS", "Sampler", "SamplerSetting", "SamplingConfig", "build", "process"]
