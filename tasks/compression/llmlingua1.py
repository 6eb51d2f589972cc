"""LLMLingua-1-style perplexity filtering (Jiang et al. 2023), token level.

The text is cut into segments of `iterative_size` scorer tokens; each segment is scored by the
causal LM conditioned on the *compressed* prefix so far (the paper's iterative token-level
compression), and its tokens with the highest -log p are kept, at the rate's share of the
segment. A single context has no budget controller to run. Output is the decoded kept tokens,
so words can lose pieces, as in the original.
"""

import numpy as np

from tasks.compression.base import COMPRESSORS
from tasks.compression.scorer import ScorerCompressor

ITERATIVE_SIZE = 200  # llmlingua's default segment, in scorer tokens


@COMPRESSORS.register("llmlingua1")
class LLMLingua1(ScorerCompressor):
    name = "llmlingua1"

    def run(self, texts: list[str], rates: list[float]) -> list[tuple[str, tuple[bool, ...] | None]]:
        tok, start = self.engine.tokenizer, self.start
        ids = [list(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
        kept: list[list[int]] = [[] for _ in texts]
        room = self.engine.spec.max_model_len - ITERATIVE_SIZE - 1
        rounds = max((len(x) + ITERATIVE_SIZE - 1) // ITERATIVE_SIZE for x in ids)
        for k in range(rounds):
            active = [i for i, x in enumerate(ids) if k * ITERATIVE_SIZE < len(x)]
            segments = [ids[i][k * ITERATIVE_SIZE : (k + 1) * ITERATIVE_SIZE] for i in active]
            prefixes = [[start, *kept[i][-room:]] for i in active]
            scores = self.engine.score_ids(prefixes, segments)
            for i, segment, logp in zip(active, segments, scores, strict=True):
                if rates[i] >= 1.0:
                    kept[i] += segment
                    continue
                surprisal = [-v for v in logp]
                cut = float(np.percentile(surprisal, 100 * (1.0 - rates[i])))
                kept[i] += [t for t, s in zip(segment, surprisal, strict=True) if s >= cut]
        return [(str(tok.decode(k)).strip(), None) for k in kept]
