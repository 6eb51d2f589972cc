"""Selective-Context (Li et al. 2023): drop the words a causal LM finds least informative.

Self-information of a word = -log p of its tokens under the scorer LM (through `engine.score`,
so vLLM batches it), summed over the word. Units are words (the original also offers phrases
and sentences); words with self-information below the (1 - rate) percentile are deleted.
"""

import numpy as np

from tasks.compression.base import COMPRESSORS
from tasks.compression.config import CompressionParams
from tasks.compression.scorer import ScorerCompressor
from tasks.compression.words import Word, join, split
from tasks.engines import Engine


def token_surprisal(
    engine: Engine, texts: list[str], start: int
) -> list[tuple[list[float], list[tuple[int, int]]]]:
    """-log p of every token of each text (no prompt beyond the `start` token), with character
    offsets. Texts longer than the scorer's context are scored in consecutive windows."""
    tok = engine.tokenizer
    width = engine.spec.max_model_len - 1
    encoded = [tok(t, add_special_tokens=False, return_offsets_mapping=True) for t in texts]
    ctx, cont, owner = [], [], []
    for i, enc in enumerate(encoded):
        ids = list(enc["input_ids"])
        for lo in range(0, len(ids), width):
            ctx.append([start])
            cont.append(ids[lo : lo + width])
            owner.append(i)
    scores = engine.score_ids(ctx, cont)
    per_text: list[list[float]] = [[] for _ in texts]
    for i, logp in zip(owner, scores, strict=True):
        per_text[i] += [-v for v in logp]
    return [(s, [tuple(o) for o in enc["offset_mapping"]]) for s, enc in zip(per_text, encoded, strict=True)]


def word_scores(words: list[Word], surprisal: list[float], offsets: list[tuple[int, int]]) -> list[float]:
    """Sum of the surprisal of the tokens whose last character falls inside each word; a token
    of whitespace only counts for the word after it (the last word at the end)."""
    ends = np.array([w.end for w in words])
    out = [0.0] * len(words)
    for value, (lo, hi) in zip(surprisal, offsets, strict=True):
        i = int(np.searchsorted(ends, max(hi, lo + 1) - 1, side="right"))
        out[min(i, len(words) - 1)] += value
    return out


@COMPRESSORS.register("selective_context")
class SelectiveContext(ScorerCompressor):
    name = "selective_context"

    def __init__(self, params: CompressionParams, classifier: str | None = None) -> None:
        super().__init__(params, classifier)
        self._scored: dict[str, tuple[list[float], list[tuple[int, int]]]] = {}

    def run(self, texts: list[str], rates: list[float]) -> list[tuple[str, tuple[bool, ...] | None]]:
        scored = self._scored  # a text's scores do not depend on the rate: score it once
        pairs = zip(texts, rates, strict=True)
        todo = list(dict.fromkeys(t for t, r in pairs if r < 1.0 and t not in scored))
        if todo:
            scored.update(zip(todo, token_surprisal(self.engine, todo, self.start), strict=True))
        out: list[tuple[str, tuple[bool, ...] | None]] = []
        for text, rate in zip(texts, rates, strict=True):
            words = split(text)
            if rate >= 1.0:
                keep = [True] * len(words)
            else:
                info = word_scores(words, *scored[text])
                cut = float(np.percentile(info, 100 * (1.0 - rate)))
                keep = [v >= cut for v in info]
            out.append((join(words, keep), tuple(keep)))
        return out
