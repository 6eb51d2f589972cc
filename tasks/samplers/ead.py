"""Entropy Adaptive Decoding (Simonds, arXiv 2502.06833): a small model decodes until the
rolling mean of its next-token entropy (bits, before temperature, over the last `window` steps)
exceeds `threshold`; then the large model takes over until the mean falls back to or below it.
After a switch the new model keeps at least `min_stay` tokens (the paper's stability rule).

The token itself is drawn by whichever model holds the step, at the setting's temperature, so
the logits warp is the identity; the switching is a decode loop over two engines
(`generate`), with `Switch` its plain, tested rule. Entropy comes from the engine: exact on hf,
the top-k coarse-grained lower bound on vLLM (tasks/engines/entropy.py)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import torch
from pydantic import Field, model_validator

from tasks.config.models import ModelName
from tasks.errors import InfopipeError
from tasks.samplers.base import LN2, SAMPLERS, Sampler, SamplerArgs, Setting, build
from tasks.samplers.config import SamplerSetting, SamplingConfig


class EadArgs(SamplerArgs):
    large: ModelName | None = None  # a model of params.yaml sharing the small model's tokenizer
    threshold: Annotated[float, Field(gt=0.0)] | None = None  # bits
    window: Annotated[int, Field(ge=1)] = 5
    min_stay: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _pair(self) -> "EadArgs":
        if self.large is None:
            raise ValueError("large: EAD needs a large model (a threshold alone switches to nothing)")
        if self.threshold is None:
            raise ValueError("threshold: EAD needs an entropy threshold in bits")
        return self


@dataclass
class Switch:
    """Which model decodes the next token, from the entropies of the tokens decoded so far."""

    threshold: float
    window: int
    min_stay: int = 1
    model: str = "small"
    entropies: list[float] = field(default_factory=list)
    since: int | None = None  # tokens decoded since the last switch (None: no switch yet)

    def step(self, entropy_bits: float) -> str:
        """Record the entropy of the step just decoded; return the model for the next one."""
        self.entropies.append(entropy_bits)
        if self.since is not None:
            self.since += 1
        recent = self.entropies[-self.window :]
        want = "large" if sum(recent) / len(recent) > self.threshold else "small"
        if want != self.model and (self.since is None or self.since >= self.min_stay):
            self.model, self.since = want, 0
        return self.model


@SAMPLERS.register("ead")
class Ead(Sampler):
    Args = EadArgs
    args: EadArgs
    backend = "hf"  # two models in one process: an in-process vLLM engine is one per process

    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        return scores

    def models(self) -> list[str]:
        assert self.args.large is not None  # checked by EadArgs
        return [self.args.large]

    def decode(
        self,
        engines: Sequence[Any],
        prompt_ids: list[list[int]],
        setting: Setting,
        max_tokens: int,
        stop: Sequence[str],
        seed: int,
    ) -> list["EadGeneration"]:
        small, large = engines
        return generate(small, large, prompt_ids, setting, max_tokens, stop, seed)

    def switch(self) -> Switch:
        assert self.args.threshold is not None  # checked by EadArgs
        return Switch(self.args.threshold, self.args.window, self.args.min_stay)


@dataclass(frozen=True)
class EadGeneration:
    text: str
    token_ids: list[int]
    logprobs: list[float]  # under the model that drew each token
    models: list[str]  # "small" or "large", per token
    entropy_bits: list[float]

    @property
    def large_share(self) -> float:
        return self.models.count("large") / len(self.models) if self.models else 0.0


def _vocabulary(tokenizer: Any) -> Any:
    return tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else len(tokenizer)


def generate(
    small: Any,
    large: Any,
    prompt_ids: list[list[int]],
    setting: Setting,
    max_tokens: int,
    stop: Sequence[str] = (),
    seed: int = 0,
) -> list[EadGeneration]:
    """Decode every prompt token by token with whichever engine its `Switch` names: one batched
    one-token request per engine and step (vLLM's prefix cache keeps the re-prefill cheap)."""
    if _vocabulary(small.tokenizer) != _vocabulary(large.tokenizer):
        raise InfopipeError(
            "sampler ead", f"{small.model_name} and {large.model_name} do not share a tokenizer"
        )
    ead = build(setting)
    assert isinstance(ead, Ead)
    draw = SamplerSetting(name="temperature", temperature=setting.temperature, order=setting.order)
    step_sampling = SamplingConfig(max_tokens=1, logprobs=0, entropy=True, sampler=draw)
    eos = {small.tokenizer.eos_token_id}
    switches = [ead.switch() for _ in prompt_ids]
    tokens: list[list[int]] = [[] for _ in prompt_ids]
    logprobs: list[list[float]] = [[] for _ in prompt_ids]
    models: list[list[str]] = [[] for _ in prompt_ids]
    active = set(range(len(prompt_ids)))
    for step in range(max_tokens):
        # Who decodes this step is fixed before anyone draws: a switch takes effect next step.
        holders = {
            name: sorted(i for i in active if switches[i].model == name) for name in ("small", "large")
        }
        for name, engine in (("small", small), ("large", large)):
            rows = holders[name]
            if not rows:
                continue
            seeds = [seed + 1_000_003 * i + step for i in rows]
            out = engine.generate_ids([prompt_ids[i] + tokens[i] for i in rows], step_sampling, seeds)
            for i, g in zip(rows, out, strict=True):
                token = g.token_ids[0]
                tokens[i].append(token)
                logprobs[i].append(g.logprobs[0])
                models[i].append(name)
                switches[i].step(g.entropy[0] / LN2)
                text = small.tokenizer.decode(tokens[i], skip_special_tokens=True)
                if token in eos or any(s in text for s in stop):
                    active.discard(i)
        if not active:
            break
    return [
        EadGeneration(small.tokenizer.decode(t, skip_special_tokens=True), t, lp, m, switches[i].entropies)
        for i, (t, lp, m) in enumerate(zip(tokens, logprobs, models, strict=True))
    ]
