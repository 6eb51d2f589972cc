"""A deterministic stand-in engine for unit tests that are not about engines (never a default)."""

import math
import zlib
from collections.abc import Sequence
from typing import Any

from tasks.config import EngineConfig, ModelSpec
from tasks.engines.base import Engine, Generation
from tasks.engines.registry import ENGINES
from tasks.samplers import SamplingConfig


class ByteTokenizer:
    """Bytes as tokens: enough of the tokenizer interface for Engine's shared plumbing."""

    eos_token_id = 256

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": list(text.encode("utf-8"))}

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return 257


@ENGINES.register("dummy")
class DummyEngine(Engine):
    """Echoes the prompt's bytes back; log-probs are a fixed function of position and token."""

    backend = "dummy"

    def __init__(self, name: str, spec: ModelSpec, config: EngineConfig) -> None:
        self.model_name, self.spec, self.config = name, spec, config
        self.source = name
        self.tokenizer: Any = ByteTokenizer()

    @staticmethod
    def _logprob(context: list[int], token: int) -> float:
        return -1.0 - (zlib.crc32(bytes([*(c % 256 for c in context[-4:]), token % 256])) % 1000) / 250.0

    def generate_ids(
        self, prompt_ids: list[list[int]], sampling: SamplingConfig, seeds: Sequence[int] | None = None
    ) -> list[Generation]:
        out = []
        for ids in prompt_ids:
            new = (ids * sampling.max_tokens)[: sampling.max_tokens]
            lps = [self._logprob(ids + new[:i], t) for i, t in enumerate(new)]
            out.append(
                Generation(
                    prompt_ids=ids,
                    text=self.tokenizer.decode(new),
                    token_ids=new,
                    logprobs=lps,
                    top_logprobs=[
                        {t: lp} if sampling.logprobs else {} for t, lp in zip(new, lps, strict=True)
                    ],
                    entropy=[-lp * math.exp(lp) for lp in lps] if sampling.entropy else None,
                    tail_mass=[0.0] * len(new) if sampling.entropy else None,
                    finish_reason="length",
                )
            )
        return out

    def score_ids(self, prompt_ids: list[list[int]], cont_ids: list[list[int]]) -> list[list[float]]:
        return [
            [self._logprob(c + k[:i], t) for i, t in enumerate(k)]
            for c, k in zip(prompt_ids, cont_ids, strict=True)
        ]
