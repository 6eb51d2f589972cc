"""Section `generate` of params.yaml: a prompt set, one model, how to sample (stage `generate`)."""

from typing import Literal

from pydantic import model_validator

from tasks.config import EngineParams, ModelName, Strict
from tasks.samplers import SamplingConfig


class GenerateConfig(Strict):
    model: ModelName
    prompts: list[str] | None = None
    prompts_file: str | None = None  # .txt (one prompt a line) or .jsonl (field "prompt")
    truncation: Literal["error", "left"] = "error"  # a prompt longer than the context
    sampling: SamplingConfig = SamplingConfig()

    @model_validator(mode="after")
    def _one_prompt_source(self) -> "GenerateConfig":
        if (self.prompts is None) == (self.prompts_file is None):
            raise ValueError("give exactly one of prompts, prompts_file")
        if self.prompts is not None and not self.prompts:
            raise ValueError("prompts is empty")
        return self


class GenerateParams(EngineParams):
    generate: GenerateConfig

    @model_validator(mode="after")
    def _logprobs(self) -> "GenerateParams":
        if self.generate.sampling.logprobs > self.engine.max_logprobs:
            raise ValueError(
                f"generate.sampling.logprobs: {self.generate.sampling.logprobs} exceeds "
                f"engine.max_logprobs {self.engine.max_logprobs}"
            )
        return self
