"""min-p (Nguyen et al., ICLR 2025): keep tokens with p >= p_base * max p."""

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

from tasks.samplers.base import NEG_INF, SAMPLERS, Sampler, SamplerArgs


class MinPArgs(SamplerArgs):
    p: Annotated[float, Field(gt=0.0, le=1.0)]


@SAMPLERS.register("min_p")
class MinP(Sampler):
    Args = MinPArgs
    args: MinPArgs

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        probs = scores.softmax(dim=-1)
        threshold = self.args.p * probs.max(dim=-1, keepdim=True).values
        remove = probs < threshold
        remove.scatter_(1, probs.argmax(dim=-1, keepdim=True), False)
        return scores.masked_fill(remove, NEG_INF)
