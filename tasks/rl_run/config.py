"""Section `rl_run` of params.yaml: a short GRPO run from a family model with a verifiable reward
(stage `rl_run`), the checkpoint series stage `checkpoints` evaluates."""

from typing import Annotated, Any

from pydantic import Field, model_validator

from tasks.checkpoints.verifiers import VERIFIERS
from tasks.config import EngineParams, ModelName, PositiveInt, Seed, Strict
from tasks.models.formats import known_single_hop


class RlRunConfig(Strict):
    """Stage `rl_run`: a short GRPO run (TRL's trainer) with a verifiable reward on world QA from a
    family model, saving a checkpoint every `save_every` steps for stage `checkpoints`."""

    model: ModelName = "world-l"  # the starting policy: a model of params.yaml with a local path
    kinds: list[str] = []  # single-hop question kinds trained on; [] = all
    prompts: PositiveInt = 512  # train-split questions (entities the evaluation never sees)
    reward: Annotated[str, VERIFIERS.checked()] = "exact_match"  # tasks/checkpoints/verifiers.py
    steps: PositiveInt = 60
    save_every: PositiveInt = 10
    prompts_per_step: PositiveInt = 8
    generations: Annotated[int, Field(ge=2)] = 8  # group size G: completions per prompt
    max_tokens: PositiveInt = 16
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    lr: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-4
    beta: Annotated[float, Field(ge=0.0)] = 0.0  # KL coefficient (the Entropy Mechanism recipe: 0)
    threads: PositiveInt | None = None  # torch threads; None = all cores
    seed: Seed = 0
    trl: dict[str, Any] = {}  # further trl.GRPOConfig arguments, checked by TRL

    @model_validator(mode="after")
    def _known(self) -> "RlRunConfig":
        known_single_hop(self.kinds)
        if self.save_every > self.steps:
            raise ValueError(f"save_every: {self.save_every} exceeds steps {self.steps}: no checkpoint")
        return self


class RlRunParams(EngineParams):
    rl_run: RlRunConfig = RlRunConfig()
