"""Top-k: keep the k most likely tokens (ties with the k-th kept, as transformers does)."""

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

from tasks.samplers.base import NEG_INF, SAMPLERS, Sampler, SamplerArgs


class TopKArgs(SamplerArgs):
    k: Annotated[int, Field(ge=1)]


@SAMPLERS.register("top_k")
class TopK(Sampler):
    Args = TopKArgs
    args: TopKArgs

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        k = min(self.args.k, scores.shape[-1])
        kth = scores.topk(k, dim=-1).values[:, -1:]
        return scores.masked_fill(scores < kth, NEG_INF)
