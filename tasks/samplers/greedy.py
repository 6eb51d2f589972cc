"""Greedy: only the most likely token survives (the first one on ties, as argmax)."""

from collections.abc import Sequence
from typing import Any

import torch

from tasks.samplers.base import NEG_INF, SAMPLERS, Sampler


@SAMPLERS.register("greedy")
class Greedy(Sampler):
    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        best = scores.argmax(dim=-1, keepdim=True)
        return torch.full_like(scores, NEG_INF).scatter(1, best, scores.gather(1, best))
