"""The transformers backend: the numerical reference for vllm, and the fallback without it."""

from collections.abc import Sequence
from typing import Any

from tasks.config import EngineConfig, ModelSpec
from tasks.engines.base import Engine, Generation, request_seeds
from tasks.engines.registry import ENGINES
from tasks.hf import generation, loader
from tasks.samplers import SamplingConfig


@ENGINES.register("hf")
class HfEngine(Engine):
    backend = "hf"

    def __init__(self, name: str, spec: ModelSpec, config: EngineConfig) -> None:
        super().__init__(name, spec, config)
        self._model: Any = loader.load_causal_lm(self.source, spec, config.hf_device)

    def generate_ids(
        self, prompt_ids: list[list[int]], sampling: SamplingConfig, seeds: Sequence[int] | None = None
    ) -> list[Generation]:
        seeds = request_seeds(len(prompt_ids), sampling, self.config, seeds)
        rows = generation.generate(
            self._model, self.tokenizer, prompt_ids, sampling, seeds, self.config.hf_batch_size
        )
        return [Generation(**row) for row in rows]

    def score_ids(self, prompt_ids: list[list[int]], cont_ids: list[list[int]]) -> list[list[float]]:
        return generation.score(self._model, prompt_ids, cont_ids, self.config.hf_batch_size)

    def entropy_ids(self, prompt_ids: list[list[int]], cont_ids: list[list[int]]) -> list[list[float]]:
        return generation.entropies(self._model, prompt_ids, cont_ids, self.config.hf_batch_size)

    def logits(self, ids: list[int]) -> Any:
        """Raw logits [len(ids), vocab] after each prefix of `ids` (the reference in tests)."""
        return generation.logits(self._model, ids)

    def close(self) -> None:
        self._model = None
