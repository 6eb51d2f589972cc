"""Locally typical sampling (Meister et al., TACL 2023): keep the tokens whose surprisal is
closest to the entropy, in that order, until their mass reaches tau. Not argmax-invariant: the
most likely token can be dropped when it is far more predictable than the distribution."""

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

from tasks.samplers.base import SAMPLERS, Sampler, SamplerArgs, keep_sorted


class TypicalArgs(SamplerArgs):
    tau: Annotated[float, Field(gt=0.0, le=1.0)]


@SAMPLERS.register("typical")
class Typical(Sampler):
    Args = TypicalArgs
    args: TypicalArgs

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        logp = scores.log_softmax(dim=-1)
        entropy = -(logp.exp() * logp).nansum(dim=-1, keepdim=True)
        distance, order = (-logp - entropy).abs().sort(dim=-1)
        mass = scores.gather(1, order).softmax(dim=-1).cumsum(dim=-1)
        # The token whose mass crosses tau is kept, and so is every token tied with it.
        last = (mass < self.args.tau).sum(dim=-1, keepdim=True).clamp(max=scores.shape[-1] - 1)
        remove = distance > distance.gather(1, last)
        remove[:, 0] = False
        return keep_sorted(scores, order, remove)
