"""The compressor interface: texts in, compressed texts out, with the ratio they achieved.

Every compressor is registered in COMPRESSORS under the name params.yaml uses; a new method is
one file with one registered class. Rates and ratios are counted in GPT (cl100k) tokens, as the
paper does, whatever tokenizer a method uses inside.
"""

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from tasks.compression import gpt_tokens
from tasks.compression.words import Word, join, split
from tasks.errors import InfopipeError
from tasks.registry import Registry

COMPRESSORS: Registry[Any] = Registry("compressor")


@dataclass(frozen=True)
class Budget:
    """How much to keep: a `rate` in (0, 1] of the original tokens, or at most `target_token`."""

    rate: float | None = None
    target_token: int | None = None

    def __post_init__(self) -> None:
        if (self.rate is None) == (self.target_token is None):
            raise InfopipeError("budget", "give exactly one of rate, target_token")
        if self.rate is not None and not 0.0 < self.rate <= 1.0:
            raise InfopipeError("rate", f"must be in (0, 1], got {self.rate}")
        if self.target_token is not None and self.target_token <= 0:
            raise InfopipeError("target_token", f"must be > 0, got {self.target_token}")

    def rate_for(self, original_tokens: int) -> float:
        if self.rate is not None:
            return self.rate
        assert self.target_token is not None
        return min(self.target_token / max(original_tokens, 1), 1.0)


@dataclass(frozen=True)
class Compressed:
    text: str
    original_tokens: int
    compressed_tokens: int
    seconds: float  # this text's share of its batch's wall time (by original tokens)
    keep: tuple[bool, ...] | None = None  # per word of words.split(original), when word-level

    @property
    def rate(self) -> float:
        return self.compressed_tokens / max(self.original_tokens, 1)

    @property
    def ratio(self) -> float:
        """Original over compressed tokens (the paper's 1/tau); inf when nothing is left."""
        return self.original_tokens / self.compressed_tokens if self.compressed_tokens else float("inf")


class Compressor(ABC):
    name: ClassVar[str]

    def compress(self, texts: Sequence[str], budget: Budget) -> list[Compressed]:
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InfopipeError(f"context {i}", "is empty or whitespace only")
        originals = gpt_tokens.counts(list(texts))
        rates = [budget.rate_for(n) for n in originals]
        start = time.perf_counter()
        results = self.run(list(texts), rates)
        seconds = time.perf_counter() - start
        outputs = [text for text, _ in results]
        compressed = gpt_tokens.counts(outputs)
        total = max(sum(originals), 1)
        return [
            Compressed(out, n, m, seconds * n / total, keep)
            for (out, keep), n, m in zip(results, originals, compressed, strict=True)
        ]

    @abstractmethod
    def run(self, texts: list[str], rates: list[float]) -> list[tuple[str, tuple[bool, ...] | None]]:
        """Compressed text (and per-word keep labels when word-level) of each text at its rate."""


class WordCompressor(Compressor):
    """Scores words, keeps the highest-scoring ones until the rate's share of GPT tokens."""

    def run(self, texts: list[str], rates: list[float]) -> list[tuple[str, tuple[bool, ...] | None]]:
        out: list[tuple[str, tuple[bool, ...] | None]] = []
        for text, keep in zip(texts, self.select([split(t) for t in texts], rates), strict=True):
            out.append((join(split(text), keep), tuple(keep)))
        return out

    @abstractmethod
    def select(self, texts: list[list[Word]], rates: list[float]) -> list[list[bool]]:
        """Which words of each text to keep."""


def keep_top(scores: Sequence[float], weights: Sequence[int], rate: float) -> list[bool]:
    """Keep the highest scores (ties: earlier first) until `rate` of the total weight is reached."""
    if rate >= 1.0:
        return [True] * len(scores)
    budget = rate * sum(weights)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep, used = [False] * len(scores), 0
    for i in order:
        if used + weights[i] > budget:
            continue
        keep[i], used = True, used + weights[i]
    return keep
