"""LLMLingua-2 (Pan et al. 2024): a token classifier's keep probabilities, averaged per word,
thresholded per encoder window at the requested share of GPT tokens.

Follows llmlingua 0.2.2's `compress_prompt_llmlingua2` (reference/algorithms.md 1.1) with these
documented differences, each a fix of a known llmlingua bug:
- words are the text's own words (tasks.compression.words) mapped to sub-words with the fast
  tokenizer's word ids, so any encoder works (llmlingua dispatches on the model *name* and raises
  NotImplementedError for local or renamed checkpoints, #168/#221/#148), and the output keeps the
  original casing and spacing (llmlingua rebuilds text from tokens: lower-case for uncased
  encoders);
- a word's GPT-token weight is counted on the word as written, not on the encoder's normalised
  (lower-cased) form; pass `counter` to count like llmlingua;
- force tokens are matched on words (a multi-word force token on a run of words) instead of
  being added to the encoder's vocabulary as [NEWi] placeholders, so no embedding is resized and
  a force token the encoder does not know still works;
- windows are cut at the last sentence end or line break inside the encoder's window, as
  llmlingua does, but never in the middle of a word.
Kept as in llmlingua: per-window thresholds at percentile int(100 (1 - rate) + 1) of the
token-weighted word probabilities, `force_reserve_digit` on sub-words, `drop_consecutive`.
"""

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from tasks.compression import gpt_tokens
from tasks.compression.base import COMPRESSORS, Compressor
from tasks.compression.config import CompressionParams
from tasks.compression.words import Word, join, newline_after, split
from tasks.errors import InfopipeError
from tasks.hf import classifier as hf_classifier

CHUNK_END = (".", "\n")


@COMPRESSORS.register("llmlingua2")
class LLMLingua2(Compressor):
    name = "llmlingua2"

    def __init__(
        self,
        params: CompressionParams | None = None,
        classifier: str | None = None,
        *,
        force_tokens: Sequence[str] = (),
        force_reserve_digit: bool = False,
        drop_consecutive: bool = False,
        token_to_word: str = "mean",
        chunk_end_tokens: Sequence[str] = CHUNK_END,
        counter: Callable[[str], int] = gpt_tokens.count,
        batch_size: int = 50,
    ) -> None:
        if classifier is None:
            raise InfopipeError("llmlingua2", "needs a classifier (a trained model directory or HF id)")
        if token_to_word not in ("mean", "first"):
            raise InfopipeError("token_to_word", f"must be mean or first, got {token_to_word!r}")
        for i, token in enumerate(force_tokens):
            if not token.strip():
                raise InfopipeError(f"force_tokens.{i}", "is empty or whitespace only")
        self.source = classifier
        self.force = [tuple(w.text for w in split(t)) for t in force_tokens]
        self.force_words = {t for t in force_tokens if t.strip()}
        self.reserve_digit = force_reserve_digit
        self.drop_consecutive = drop_consecutive
        self.token_to_word = token_to_word
        self.chunk_end = set(chunk_end_tokens)
        self.counter = counter
        self.batch_size = batch_size

    @cached_property
    def _model(self) -> tuple[Any, Any]:
        return hf_classifier.load_token_classifier(self.source)

    # -- LLMLingua-2 --------------------------------------------------------------------------
    def word_probs(self, texts: list[str]) -> list[list[tuple[list[Word], list[float]]]]:
        """Per text, per encoder window: its words and their keep probabilities."""
        model, tokenizer = self._model
        head, tail = hf_classifier.boundary_ids(tokenizer)
        limit = hf_classifier.window(model, tokenizer) - len(head) - len(tail)
        plans = []  # (text index, words, sub-word ids, sub-word -> word)
        for t, text in enumerate(texts):
            words = split(text)
            enc = tokenizer([w.text for w in words], is_split_into_words=True, add_special_tokens=False)
            ids, owner = list(enc["input_ids"]), list(enc.word_ids())
            for lo, hi in self._windows(text, words, owner, limit):
                inside = [k for k, o in enumerate(owner) if o is not None and lo <= o < hi]
                plans.append((t, words[lo:hi], [ids[k] for k in inside], [owner[k] - lo for k in inside]))
        probs = hf_classifier.keep_probs(model, tokenizer, [p[2] for p in plans], self.batch_size)
        out: list[list[tuple[list[Word], list[float]]]] = [[] for _ in texts]
        for (t, words, ids, owner), token_probs in zip(plans, probs, strict=True):
            pieces = tokenizer.convert_ids_to_tokens(ids)
            per_word: list[list[float]] = [[] for _ in words]
            for piece, word, p in zip(pieces, owner, token_probs, strict=True):
                digit = self.reserve_digit and any(c.isdigit() for c in piece)
                per_word[word].append(1.0 if digit else p)
            # A word the encoder drops entirely (e.g. a zero-width character) scores 0.
            if self.token_to_word == "mean":
                scores = [sum(p) / len(p) if p else 0.0 for p in per_word]
            else:
                scores = [p[0] if p else 0.0 for p in per_word]
            for i in self._forced(words):
                scores[i] = 1.0
            out[t].append((words, scores))
        return out

    def run(self, texts: list[str], rates: list[float]) -> list[tuple[str, tuple[bool, ...] | None]]:
        out: list[tuple[str, tuple[bool, ...] | None]] = []
        for text, windows, rate in zip(texts, self.word_probs(texts), rates, strict=True):
            keep: list[bool] = []
            for words, scores in windows:
                keep += [True] * len(words) if rate >= 1.0 else self._threshold(words, scores, 1.0 - rate)
            out.append((join(split(text), keep), tuple(keep)))
        return out

    def _threshold(self, words: list[Word], scores: list[float], reduce: float) -> list[bool]:
        scores = list(scores)
        if self.drop_consecutive:
            between, prev = False, None
            cut = float(np.percentile(scores, int(100 * reduce)))
            for i, (word, score) in enumerate(zip(words, scores, strict=True)):
                if word.text in self.force_words:
                    if between:
                        between = False
                    elif word.text == prev:
                        scores[i] = 0.0
                    prev = word.text
                else:
                    between = between or score > cut
        weighted = [s for w, s in zip(words, scores, strict=True) for _ in range(self.counter(w.text))]
        threshold = float(np.percentile(weighted, int(100 * reduce + 1))) if weighted else 1.0
        keep: list[bool] = []
        last_kept: str | None = None
        for word, score in zip(words, scores, strict=True):
            kept = bool(score > threshold or (threshold == 1.0 and score == 1.0))
            if kept and self.drop_consecutive and word.text in self.force_words and last_kept == word.text:
                kept = False
            keep.append(kept)
            if kept:
                last_kept = word.text
        return keep

    def _forced(self, words: list[Word]) -> set[int]:
        texts = [w.text for w in words]
        hits: set[int] = set()
        for seq in self.force:
            for i in range(len(texts) - len(seq) + 1):
                if tuple(texts[i : i + len(seq)]) == seq:
                    hits.update(range(i, i + len(seq)))
        return hits

    def _windows(
        self, text: str, words: list[Word], owner: list[int | None], limit: int
    ) -> list[tuple[int, int]]:
        """Word ranges whose sub-words fit the encoder, cut after the last chunk-end word."""
        sizes = [0] * len(words)
        for o in owner:
            if o is not None:
                sizes[o] += 1
        spans, lo, used, last_end = [], 0, 0, None
        for i, size in enumerate(sizes):
            if size > limit:
                raise InfopipeError("context", f"word {words[i].text[:30]!r} alone exceeds the encoder")
            if used + size > limit:
                cut = last_end + 1 if last_end is not None and last_end >= lo else i
                spans.append((lo, cut))
                lo, used, last_end = cut, sum(sizes[cut:i]), None
            used += size
            if words[i].text in self.chunk_end or ("\n" in self.chunk_end and newline_after(text, words[i])):
                last_end = i
        if lo < len(words):
            spans.append((lo, len(words)))
        return spans
