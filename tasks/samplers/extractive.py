"""Extractive-constrained decoding: the model may only write an in-order subsequence of a source
text's words, at most `budget` of them, then stop. Every output is extractive by construction,
and the model still chooses which words to keep (the compression job's teacher; reference/
algorithms.md Job 1).

A word is its token ids as the model writes it after a space (whitespace-separated words of the
source, each encoded with its leading space). Per sequence the state is the set of places the
output so far can stand in the source: between words (the next word may be any later one, or
the end) or inside a word (only its next token). Where several source words share a prefix the
state holds each; of two places that allow the same futures only the earliest is kept, so the
set stays as small as the number of distinct words sharing a prefix. It may end (an `eos` token)
only between words and after at least `minimum` words. Among the allowed tokens
the most likely one survives (greedy), or all of them when `greedy` is false.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import torch
from pydantic import Field, model_validator

from tasks.samplers.base import NEG_INF, SAMPLERS, Sampler, SamplerArgs

TokenIds = list[Annotated[int, Field(ge=0)]]


class ExtractiveArgs(SamplerArgs):
    words: list[TokenIds]  # the source's words, each as token ids with its leading space
    budget: Annotated[int, Field(ge=1)]  # most words the output may hold
    minimum: Annotated[int, Field(ge=0)] = 1  # fewest words before it may end
    eos: TokenIds  # tokens that end the output (at a word boundary only)
    greedy: bool = True

    @model_validator(mode="after")
    def _nonempty(self) -> "ExtractiveArgs":
        if not self.words or any(not w for w in self.words):
            raise ValueError("words: every word needs at least one token")
        if not self.eos:
            raise ValueError("eos: give at least one end token")
        return self


@dataclass(frozen=True, order=True)
class Place:
    """Where the output stands: after `words` words, inside source word `word` at token `offset`
    (offset 0: between words, the next one may be any source word from `word` on)."""

    written: int
    word: int
    offset: int


@dataclass
class ExtractiveState:
    places: list[Place] = field(default_factory=lambda: [Place(0, 0, 0)])


@SAMPLERS.register("extractive")
class Extractive(Sampler):
    args: ExtractiveArgs
    Args = ExtractiveArgs
    stateful = True

    def __init__(self, args: ExtractiveArgs) -> None:
        super().__init__(args)
        words = args.words
        # first[j]: the first token of every word from j on (what may follow a word boundary at j)
        self._first_from: list[frozenset[int]] = [frozenset()] * (len(words) + 1)
        for j in range(len(words) - 1, -1, -1):
            self._first_from[j] = self._first_from[j + 1] | {words[j][0]}

    def new_state(self) -> ExtractiveState:
        return ExtractiveState()

    @property
    def _least(self) -> int:
        return min(self.args.minimum, self.args.budget, len(self.args.words))

    def _next_words(self, place: Place) -> range:
        """The source words that may come next between words: later ones, leaving enough after
        each to reach `minimum`, while the budget lasts."""
        if place.written >= self.args.budget:
            return range(0)
        owed = max(self._least - place.written - 1, 0)  # words still needed after the next one
        return range(place.word, len(self.args.words) - owed)

    def allowed(self, state: ExtractiveState) -> set[int]:
        """Token ids the sequence may write next."""
        out: set[int] = set()
        for place in state.places:
            if place.offset:
                out.add(self.args.words[place.word][place.offset])
                continue
            if place.written >= self._least:
                out.update(self.args.eos)
            following = self._next_words(place)
            if following.stop == len(self.args.words):
                out.update(self._first_from[place.word])
            else:
                out.update(self.args.words[j][0] for j in following)
        return out

    def observe(self, state: Any, token: int) -> None:
        words, nxt = self.args.words, set()
        for place in state.places:
            if place.offset:
                candidates = [(place.word, place.offset, place.written)]
            else:
                candidates = [(j, 0, place.written + 1) for j in self._next_words(place)]
            for j, k, written in candidates:
                if words[j][k] != token:
                    continue
                done = k + 1 == len(words[j])
                nxt.add(Place(written, j + 1, 0) if done else Place(written, j, k + 1))
        state.places = _earliest(nxt, words)

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        mask = torch.ones_like(scores, dtype=torch.bool)
        for row, state in enumerate(states):
            allowed = [t for t in self.allowed(state) if t < scores.shape[1]]
            mask[row, allowed] = False
        out = scores.masked_fill(mask, NEG_INF)
        if not self.args.greedy:
            return out
        best = out.argmax(dim=-1, keepdim=True)
        return torch.full_like(scores, NEG_INF).scatter(1, best, out.gather(1, best))


def _earliest(places: set[Place], words: list[list[int]]) -> list[Place]:
    """Of places with the same words written and the same tokens still owed (or both between
    words), the earliest: every future it allows, a later one allows too."""
    best: dict[tuple[Any, ...], Place] = {}
    for place in sorted(places):
        owed = tuple(words[place.word][place.offset :]) if place.offset else ()
        key = (place.written, place.offset > 0, owed)
        best.setdefault(key, place)
    return sorted(best.values())
