"""What a sampler is: a decoding strategy as plain batched torch on next-token scores.

`warp(scores, states)` takes scores [rows, vocab] and returns them with the tokens it removes
at -inf; the caller draws from softmax of the result. `process` applies temperature and the
truncation in the order the setting records (HF and min-p's paper: temperature first). Stateful
samplers (Mirostat) keep one state per sequence and `observe` the token the sequence drew before
its next step. The same code runs inside vLLM (tasks/engines/vllm_logits.py) and under
transformers (tasks/hf/generation.py); reference/algorithms.md Job 4 has the methods and their quirks.

A sampler that decodes with further models of params.yaml (EAD's large model) says so through
`models()` and `backend`, and runs its own decode loop (`decode`) instead of warping one engine's
scores; callers ask these attributes, never the sampler's name.
"""

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

import torch
from pydantic import BaseModel, ConfigDict, ValidationError

from tasks.errors import InfopipeError
from tasks.registry import Registry

NEG_INF = float("-inf")
LN2 = math.log(2)  # nats per bit


class Setting(Protocol):
    """A sampler with its arguments, temperature and order (tasks.config.sampling.SamplerSetting)."""

    @property
    def name(self) -> str: ...
    @property
    def args(self) -> Mapping[str, Any]: ...
    @property
    def temperature(self) -> float: ...
    @property
    def order(self) -> str: ...


class SamplerArgs(BaseModel):
    """A sampler's per-request arguments: typed, bounded, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sampler(ABC):
    Args: ClassVar[type[SamplerArgs]] = SamplerArgs
    stateful: ClassVar[bool] = False
    # The backend a sampler needs, if any: one that holds two models in a process (EAD: hf; an
    # in-process vLLM engine is one per process).
    backend: ClassVar[str | None] = None

    def __init__(self, args: SamplerArgs) -> None:
        self.args = args

    @abstractmethod
    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        """Scores [rows, vocab] with removed tokens at -inf (a new tensor or `scores` itself)."""

    def new_state(self) -> Any:
        """Per-sequence state (None for stateless samplers)."""
        return None

    def observe(self, state: Any, token: int) -> None:  # noqa: B027 - stateless samplers ignore it
        """The sequence drew `token` from the scores `warp` returned last for it."""

    def models(self) -> list[str]:
        """Further models of params.yaml this sampler decodes with (none: it only warps scores)."""
        return []

    def decode(
        self,
        engines: Sequence[Any],
        prompt_ids: list[list[int]],
        setting: Setting,
        max_tokens: int,
        stop: Sequence[str],
        seed: int,
    ) -> list[Any]:
        """Its own decode loop over the engine of the model it is used with, then one engine per
        `models()`; each result has `text` and `large_share` (the share of tokens the further
        models drew). Only for samplers with `models()`."""
        raise NotImplementedError(f"{type(self).__name__} warps one engine's scores; it has no decode loop")


SAMPLERS: Registry[type[Sampler]] = Registry("sampler")


def build(setting: Setting) -> Sampler:
    """The sampler of a setting, its arguments validated (a one-line error naming the argument)."""
    cls = SAMPLERS.get(setting.name)
    try:
        return cls(cls.Args.model_validate(dict(setting.args)))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        problem = "unknown argument" if first["type"] == "extra_forbidden" else first["msg"]
        problem = problem.removeprefix("Value error, ")
        raise InfopipeError(f"sampler {setting.name}", f"{where}: {problem}" if where else problem) from None


def process(scores: torch.Tensor, sampler: Sampler, setting: Setting, states: Sequence[Any]) -> torch.Tensor:
    """Temperature and truncation in the setting's order, on float32 scores [rows, vocab]."""
    scaled = scores / setting.temperature
    if setting.order == "temperature_first":
        return sampler.warp(scaled, states)
    kept = sampler.warp(scores.clone(), states)
    return scaled.masked_fill(kept == NEG_INF, NEG_INF)


def keep_sorted(scores: torch.Tensor, order: torch.Tensor, remove_sorted: torch.Tensor) -> torch.Tensor:
    """Mask the tokens flagged in sorted position (`remove_sorted`) back in vocabulary order."""
    remove = remove_sorted.scatter(1, order, remove_sorted)
    return scores.masked_fill(remove, NEG_INF)
