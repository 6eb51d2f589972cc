"""Section `decoding` of params.yaml: models x sampler settings on lm-eval benchmarks and on prose
continuation (stage `decoding`; reference/algorithms.md Job 4)."""

from typing import Annotated

from pydantic import Field, model_validator

from tasks.config import EngineParams, ModelName, PositiveInt, Seed, Strict
from tasks.decoding.benchmarks import BENCHMARKS
from tasks.samplers import SamplerSetting


class DecodingSetting(SamplerSetting):
    """One sampler setting of the `decoding` grid; `models` narrows it to some of the grid's
    models (EAD needs a small model sharing the large one's tokenizer)."""

    models: list[ModelName] = []


WORLD = "world"  # a prose source: the held-out world documents (stage `world`)


class ProseTrack(Strict):
    """One generator continuing prefixes of some sources, scored by one judge: the family
    continuing held-out world documents with the largest member judging, or SmolLM2 continuing
    Austen and Reuters (the stage `corpus` chunks) and judging itself."""

    model: ModelName  # the generator, one of decoding.models
    judge: ModelName
    sources: list[str] = [WORLD]  # `world`, or sources of stage `corpus`
    prefixes: PositiveInt = 16  # per source

    @property
    def self_judged(self) -> bool:
        return self.judge == self.model


class ProseConfig(Strict):
    """Open-ended continuation: each track's prefixes continued to a fixed length, then judged."""

    tracks: dict[str, ProseTrack] = {}
    prefix_words: PositiveInt = 32
    max_tokens: PositiveInt = 96
    # Mirostat's observed surprise is measured after its controller settles: each
    # continuation's first `settle_tokens` tokens are left out of `steady_surprisal_bits`.
    settle_tokens: Annotated[int, Field(ge=0)] = 32

    @model_validator(mode="after")
    def _settle(self) -> "ProseConfig":
        if self.settle_tokens >= self.max_tokens:
            raise ValueError(
                f"settle_tokens: {self.settle_tokens} leaves none of max_tokens {self.max_tokens}"
            )
        seen: set[str] = set()
        for name, track in self.tracks.items():
            if track.model in seen:
                raise ValueError(f"tracks.{name}.model: {track.model!r} generates in another track too")
            seen.add(track.model)
        return self

    def track_of(self, model: str) -> str | None:
        """The track `model` generates in, if any."""
        return next((name for name, t in self.tracks.items() if t.model == model), None)


class DecodingConfig(Strict):
    """Stage `decoding`: models x sampler settings on lm-eval benchmarks (world QA and a
    reasoning-style one) and on prose continuation (reference/algorithms.md Job 4)."""

    models: list[ModelName] = ["smollm2-135m-instruct"]
    # A factory: a setting's default consults the sampler registry.
    settings: list[DecodingSetting] = Field(default_factory=lambda: [DecodingSetting(name="greedy")])
    benchmarks: list[Annotated[str, BENCHMARKS.checked()]] = ["world_qa", "arithmetic"]
    questions: PositiveInt = 64  # per benchmark
    answer_tokens: PositiveInt = 24
    prose: ProseConfig = ProseConfig()
    bootstrap: PositiveInt = 1000
    seed: Seed = 0

    @model_validator(mode="after")
    def _grid(self) -> "DecodingConfig":
        for name in ("models", "settings"):
            if not getattr(self, name):
                raise ValueError(f"{name} is empty")
        labels = [(tuple(s.models), s.label) for s in self.settings]
        if len(set(labels)) != len(labels):
            raise ValueError("settings: two settings share a sampler, arguments and models")
        for i, s in enumerate(self.settings):
            stray = sorted(set(s.models) - set(self.models))
            if stray:
                raise ValueError(f"settings.{i}.models: {stray[0]!r} is not in decoding.models")
        for name, track in self.prose.tracks.items():
            if track.model not in self.models:
                raise ValueError(f"prose.tracks.{name}.model: {track.model!r} is not in decoding.models")
        return self


class DecodingParams(EngineParams):
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
