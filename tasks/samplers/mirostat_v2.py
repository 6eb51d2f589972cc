"""Mirostat v2 (Basu et al.; the authors' later code, as in llama.cpp): drop tokens whose
surprise -log2 p exceeds mu (the most likely always stays), renormalise, draw x, then
mu <- mu - eta (S - tau) with S = -log2 p~(x) under the renormalised distribution; mu starts at
2 tau."""

from collections.abc import Sequence
from typing import Any

import torch

from tasks.samplers.base import LN2, NEG_INF, SAMPLERS
from tasks.samplers.mirostat_v1 import Mirostat, MirostatArgs


@SAMPLERS.register("mirostat_v2")
class MirostatV2(Mirostat):
    Args = MirostatArgs

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        logp = scores.log_softmax(dim=-1)
        mu = torch.tensor([st.mu for st in states], dtype=logp.dtype).unsqueeze(1)
        remove = -logp / LN2 > mu
        remove.scatter_(1, logp.argmax(dim=-1, keepdim=True), False)
        out = scores.masked_fill(remove, NEG_INF)
        kept = out.log_softmax(dim=-1)
        for row, state in enumerate(states):
            state.logp = kept[row]  # S is measured under the renormalised distribution
        return out
