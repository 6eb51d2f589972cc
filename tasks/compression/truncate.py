"""Baseline: keep the first words, up to the rate's share of GPT tokens."""

from tasks.compression import gpt_tokens
from tasks.compression.base import COMPRESSORS, WordCompressor
from tasks.compression.config import CompressionParams
from tasks.compression.words import Word


@COMPRESSORS.register("truncate")
class Truncate(WordCompressor):
    name = "truncate"

    def __init__(self, params: CompressionParams, classifier: str | None = None) -> None:
        pass

    def select(self, texts: list[list[Word]], rates: list[float]) -> list[list[bool]]:
        out = []
        for words, rate in zip(texts, rates, strict=True):
            weights = [gpt_tokens.count(w.text) for w in words]
            budget, used, keep = rate * sum(weights), 0, []
            for weight in weights:
                used += weight
                keep.append(rate >= 1.0 or used <= budget)
            out.append(keep)
        return out
