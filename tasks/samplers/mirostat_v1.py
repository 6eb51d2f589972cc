"""Mirostat v1 (Basu et al., ICLR 2021, Algorithm 1): top-k with k from a Zipf fit, steered so
that the surprise of sampled tokens tracks a target tau (bits).

Per step: the Zipf exponent s from the m most likely probabilities (least squares through the
origin, paper eq. for s-hat), eps = s - 1, k = ((eps 2^mu) / (1 - N^-eps))^(1/s) rounded, at
least 1; after the draw x, mu <- mu - eta (S - tau) with S = -log2 p(x) under the full
distribution. mu starts at 2 tau. The authors' code sums over m terms (i = 0..99); the paper's
algorithm, followed here, over m - 1."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import torch
from pydantic import Field

from tasks.samplers.base import LN2, SAMPLERS, Sampler, SamplerArgs, keep_sorted


class MirostatArgs(SamplerArgs):
    tau: Annotated[float, Field(gt=0.0)]  # target surprise, bits per token
    eta: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1


class MirostatV1Args(MirostatArgs):
    m: Annotated[int, Field(ge=2)] = 100  # probabilities in the Zipf fit


@dataclass
class MirostatState:
    mu: float
    logp: torch.Tensor | None = None  # log-probs of the distribution the last token came from
    surprises: int = 0


def update(state: MirostatState, token: int, args: MirostatArgs) -> None:
    """mu <- mu - eta (S - tau), S in bits of the token under the distribution recorded last."""
    if state.logp is None:
        return
    surprise = -float(state.logp[token]) / LN2
    state.mu -= args.eta * (surprise - args.tau)
    state.surprises += 1


class Mirostat(Sampler):
    """Both versions: mu per sequence, starting at 2 tau, updated by each drawn token."""

    args: MirostatArgs
    stateful = True

    def new_state(self) -> MirostatState:
        return MirostatState(mu=2.0 * self.args.tau)

    def observe(self, state: Any, token: int) -> None:
        update(state, token, self.args)


@SAMPLERS.register("mirostat_v1")
class MirostatV1(Mirostat):
    Args = MirostatV1Args
    args: MirostatV1Args

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        n = scores.shape[-1]
        logp = scores.log_softmax(dim=-1)
        descending, order = logp.sort(dim=-1, descending=True)
        m = min(self.args.m, n)
        i = torch.arange(1, m, dtype=torch.float64)
        t = torch.log((i + 1) / i)
        b = (descending[:, : m - 1] - descending[:, 1:m]).double()  # ln(p_i / p_{i+1})
        s = (b * t).sum(dim=-1) / (t * t).sum()
        mu = torch.tensor([st.mu for st in states], dtype=torch.float64)
        eps = s - 1
        k = ((eps * torch.pow(2.0, mu)) / (1 - torch.pow(float(n), -eps))).pow(1 / s)
        k = torch.nan_to_num(k.round(), nan=float(n), posinf=float(n)).clamp(1, n).long()
        remove = torch.arange(n).unsqueeze(0) >= k.unsqueeze(1)
        for row, state in enumerate(states):
            state.logp = logp[row]  # S is measured under the full distribution
        return keep_sorted(scores, order, remove)
