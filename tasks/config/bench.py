"""The shared `bench` section: the models and sizes of `infopipe bench` runs (tasks/bench)."""

from typing import Annotated

from pydantic import Field

from tasks.config import Fraction, ModelName, PositiveInt, Strict


class EngineBenchConfig(Strict):
    model: ModelName
    num_prompts: PositiveInt = 32
    max_tokens: PositiveInt = 64
    repeats: PositiveInt = 3
    backends: list[str] = ["vllm", "hf"]


class MiBenchConfig(Strict):
    model: ModelName
    contexts: Annotated[int, Field(ge=2)] = 64  # N: N x N log-likelihoods are scored
    repeats: PositiveInt = 1


class DecodingBenchConfig(Strict):
    model: ModelName
    prompts: PositiveInt = 32
    max_tokens: PositiveInt = 64
    repeats: PositiveInt = 3
    top_p: Fraction = 0.9  # vLLM's built-in top-p, the baseline every processor is timed against


class ModelsBenchConfig(Strict):
    """`infopipe bench models`: each member's steps are timed on a sample of every training phase and
    projected to its step budget (None: train every step, as the stage does)."""

    sample_steps: PositiveInt | None = 100


class BenchConfig(Strict):
    engine: EngineBenchConfig
    models: ModelsBenchConfig = ModelsBenchConfig()
    mi: MiBenchConfig | None = None
    decoding: DecodingBenchConfig | None = None
