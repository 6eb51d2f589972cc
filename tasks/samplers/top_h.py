"""Top-H (Potraghloo et al., NeurIPS 2025): keep the most likely tokens, in order, while their
cumulative entropy terms -sum p log p stay within alpha times the entropy; the top-1 always stays.

Over the `candidates` most likely tokens (default 100, as both references). `renormalise`
(default, as transformers' TopHLogitsWarper) takes p over the candidates; off, p is the full
distribution, as the authors' logit_processor.py (which is batch-1 only; this is batched)."""

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

from tasks.samplers.base import NEG_INF, SAMPLERS, Sampler, SamplerArgs


class TopHArgs(SamplerArgs):
    alpha: Annotated[float, Field(gt=0.0, le=1.0)]
    candidates: Annotated[int, Field(ge=1)] = 100
    renormalise: bool = True


@SAMPLERS.register("top_h")
class TopH(Sampler):
    Args = TopHArgs
    args: TopHArgs

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        n = min(self.args.candidates, scores.shape[-1])
        top, index = scores.topk(n, dim=-1)
        logp = (
            top.log_softmax(dim=-1) if self.args.renormalise else scores.log_softmax(dim=-1).gather(1, index)
        )
        terms = -(logp.exp() * logp)
        budget = self.args.alpha * terms.sum(dim=-1, keepdim=True)
        # alpha = 1 keeps every candidate: float32 cumsums can overshoot their own total.
        keep = terms.cumsum(dim=-1) <= budget * (1 + 1e-6)
        keep[:, 0] = True
        out = torch.full_like(scores, NEG_INF)
        return out.scatter(1, index, top.masked_fill(~keep, NEG_INF))
