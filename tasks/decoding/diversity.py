"""Diversity and repetition of a set of continuations, on whitespace words.

distinct-n   unique n-grams / all n-grams over the set (Li et al. 2016)
repetition   per continuation, 1 - unique 4-grams / all 4-grams (seq-rep-4, Welleck et al. 2020),
             averaged: the share of 4-grams that repeat one seen earlier in the same text
self-BLEU    each continuation's BLEU-4 against all the others as references (Zhu et al. 2018,
             Texygen), averaged; sacrebleu's sentence BLEU (exponential smoothing), 0-100
"""

from collections.abc import Sequence

import numpy as np


def ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def distinct(texts: Sequence[str], n: int) -> float:
    grams = [g for t in texts for g in ngrams(t.split(), n)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def repetition(text: str, n: int = 4) -> float:
    grams = ngrams(text.split(), n)
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def self_bleu(texts: Sequence[str]) -> float:
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        return float("nan")
    bleu = BLEU(effective_order=True)
    scores = [
        bleu.sentence_score(t, [o for j, o in enumerate(texts) if j != i]).score for i, t in enumerate(texts)
    ]
    return float(np.mean(scores))
