"""How a request samples: a sampler setting (which sampler of this package, its arguments, its
temperature and order) and the sampling config an engine request carries."""

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from tasks.config.base import Fraction, PositiveInt, Seed, Strict
from tasks.errors import InfopipeError
from tasks.samplers.base import SamplerArgs, build


class SamplerSetting(Strict):
    """A sampler of tasks/samplers with its arguments, its temperature, and which of the two
    comes first (HF and min-p's paper: temperature, then truncation). Inside vLLM it runs as a
    logits processor on raw logits, so vLLM's own temperature stays 1."""

    name: str
    args: dict[str, Any] = {}
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    order: Literal["temperature_first", "truncation_first"] = "temperature_first"

    @model_validator(mode="after")
    def _known(self) -> "SamplerSetting":
        try:
            build(self)
        except InfopipeError as err:
            raise ValueError(str(err)) from None
        return self

    def typed_parts(self) -> Iterator[tuple[str, SamplerArgs]]:
        """The arguments as the sampler types them (a model they name is checked like any other)."""
        yield "args", build(self).args

    @property
    def label(self) -> str:
        """A readable, unique name: `typical(tau=0.9)`, with T and order where not default."""
        parts = [f"{k}={v}" for k, v in sorted(self.args.items())]
        if self.temperature != 1.0:
            parts.append(f"T={self.temperature:g}")
        if self.order != "temperature_first":
            parts.append("truncation_first")
        return f"{self.name}({','.join(parts)})" if parts else self.name


class SamplingConfig(Strict):
    """What to sample and what to return per request. A `sampler` owns the temperature and the
    truncation: beside it, temperature, top_p, top_k and min_p stay unset."""

    max_tokens: PositiveInt = 64
    min_tokens: Annotated[int, Field(ge=0)] = 0
    temperature: Annotated[float, Field(ge=0.0)] = 0.0
    top_p: Fraction = 1.0
    top_k: Annotated[int, Field(ge=0)] = 0  # 0 = off
    min_p: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    seed: Seed | None = None
    stop: list[str] = []
    ignore_eos: bool = False
    logprobs: Annotated[int, Field(ge=0)] = 5  # top-k log-probs returned per step
    entropy: bool = True
    sampler: SamplerSetting | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> "SamplingConfig":
        if self.sampler is not None:
            beside = {"temperature": 0.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0}
            for key, unset in beside.items():
                if getattr(self, key) != unset:
                    raise ValueError(f"{key}: set it in the sampler ({self.sampler.name}), not beside it")
        return self

    @property
    def greedy(self) -> bool:
        return self.sampler.name == "greedy" if self.sampler else self.temperature == 0.0
