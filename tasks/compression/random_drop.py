"""Baseline: drop random words until the rate is met (seeded per text, so reruns agree)."""

import hashlib
import random

from tasks.compression import gpt_tokens
from tasks.compression.base import COMPRESSORS, WordCompressor
from tasks.compression.config import CompressionParams
from tasks.compression.words import Word


@COMPRESSORS.register("random_drop")
class RandomDrop(WordCompressor):
    name = "random_drop"

    def __init__(self, params: CompressionParams, classifier: str | None = None) -> None:
        self.seed = params.compression.evaluation.seed

    def select(self, texts: list[list[Word]], rates: list[float]) -> list[list[bool]]:
        out = []
        for words, rate in zip(texts, rates, strict=True):
            digest = hashlib.sha256(" ".join(w.text for w in words).encode()).digest()
            rng = random.Random(self.seed ^ int.from_bytes(digest[:8], "big"))
            order = list(range(len(words)))
            rng.shuffle(order)
            weights = [gpt_tokens.count(w.text) for w in words]
            budget, used, keep = rate * sum(weights), 0, [False] * len(words)
            for i in order:
                if used + weights[i] <= budget:
                    keep[i], used = True, used + weights[i]
            out.append(keep if rate < 1.0 else [True] * len(words))
        return out
