"""Nucleus (top-p): the smallest set of most likely tokens whose mass reaches p."""

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

from tasks.samplers.base import SAMPLERS, Sampler, SamplerArgs, keep_sorted


class TopPArgs(SamplerArgs):
    p: Annotated[float, Field(gt=0.0, le=1.0)]


@SAMPLERS.register("top_p")
class TopP(Sampler):
    Args = TopPArgs
    args: TopPArgs

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        ascending, order = scores.sort(dim=-1)
        # Mass of each token and everything less likely than it: drop the tail that stays within
        # 1 - p; the most likely token always stays.
        tail = ascending.softmax(dim=-1).cumsum(dim=-1)
        remove = tail <= 1.0 - self.args.p
        remove[:, -1] = False
        return keep_sorted(scores, order, remove)
