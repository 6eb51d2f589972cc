"""params.yaml as typed, frozen configs that reject unknown keys; the one loader everything uses.

This package holds what every stage shares: the base types, the `models`, `engine` and `runner`
sections, the loader, and hashing. Each stage's own section lives beside its job
(tasks/<job>/config.py); tasks/params.py assembles every section."""

from tasks.config.base import Dtype, Fraction, PositiveInt, Seed, Strict
from tasks.config.dump import config_hash, flatten
from tasks.config.engine import EngineConfig
from tasks.config.load import load
from tasks.config.models import GgufBuild, ModelName, ModelSpec, TrainRecipe
from tasks.config.params import EngineParams, StageParams, sections
from tasks.config.runner import RunnerConfig

__all__ = [
    "Dtype",
    "EngineConfig",
    "EngineParams",
    "Fraction",
    "GgufBuild",
    "ModelName",
    "ModelSpec",
    "PositiveInt",
    "RunnerConfig",
    "Seed",
    "StageParams",
    "Strict",
    "TrainRecipe",
    "config_hash",
    "flatten",
    "load",
    "sections",
]
