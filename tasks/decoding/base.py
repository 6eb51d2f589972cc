"""What a sampler is: a decoding strategy as plain batched torch on next-token scores.

`warp(scores, states)` takes scores [rows, vocab] and returns them with the tokens it removes
at -inf; the caller draws from softmax of the result. `process` applies temperature and the
truncation in the order the setting records (HF and min-p's paper: temperature first). Stateful
samplers (Mirostat) keep one state per sequence and `observe` the token the sequence drew before
its next step. The same code runs inside vLLM (tasks/engines/vllm_logits.py) and under
transformers (tasks/hf.py); reference/algorithms.md Job 4 has the methods and their quirks.
"""

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, ValidationError

from tasks.config import SamplerSetting
from tasks.errors import InfopipeError
from tasks.registry import Registry

NEG_INF = float("-inf")
LN2 = math.log(2)  # nats per bit


def use_v1_logits_processors() -> None:
    """Our vLLM processor has the V1 interface (tasks/engines/vllm_logits.py). vLLM 0.32 defaults
    to Model Runner V2 where Triton exists (CUDA), with another processor interface: callers that
    run samplers in vLLM pick the V1 runner unless the environment says otherwise. CPU builds
    (no Triton) use the V1 runner already."""
    os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")


class SamplerArgs(BaseModel):
    """A sampler's per-request arguments: typed, bounded, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sampler(ABC):
    Args: ClassVar[type[SamplerArgs]] = SamplerArgs
    stateful: ClassVar[bool] = False

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


SAMPLERS: Registry[type[Sampler]] = Registry("sampler")


def build(setting: SamplerSetting) -> Sampler:
    """The sampler of a setting, its arguments validated (a one-line error naming the argument)."""
    cls = SAMPLERS.get(setting.name)
    try:
        return cls(cls.Args.model_validate(setting.args))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        problem = "unknown argument" if first["type"] == "extra_forbidden" else first["msg"]
        problem = problem.removeprefix("Value error, ")
        raise InfopipeError(f"sampler {setting.name}", f"{where}: {problem}" if where else problem) from None


def process(
    scores: torch.Tensor, sampler: Sampler, setting: SamplerSetting, states: Sequence[Any]
) -> torch.Tensor:
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
