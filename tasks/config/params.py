"""What a stage's params hold: the profile, and for a stage that runs models the shared sections
`models` and `engine`. A stage's own params (tasks/<job>/config.py) add the sections it reads; a
stage loads and validates only those, and they are its DVC params."""

from typing import TypeVar

from pydantic import model_validator

from tasks.config.base import Strict
from tasks.config.engine import EngineConfig
from tasks.config.models import ModelSpec, model_refs


class StageParams(Strict):
    profile: str = "cpu"


class EngineParams(StageParams):
    """A stage that runs models: every `ModelName` of its sections names a model of `models`."""

    models: dict[str, ModelSpec]
    engine: EngineConfig = EngineConfig()

    @model_validator(mode="after")
    def _known_models(self) -> "EngineParams":
        for name in type(self).model_fields:
            if name == "models":
                continue
            for where, model in model_refs(getattr(self, name), name):
                if model not in self.models:
                    known = ", ".join(sorted(self.models))
                    raise ValueError(f"{where}: unknown model {model!r} (known: {known})")
        return self


P = TypeVar("P", bound=StageParams)


def sections(params: StageParams, cls: type[P]) -> P:
    """The sections `cls` reads, taken from params that hold them (e.g. every section, for a
    benchmark that calls a job's functions)."""
    return cls.model_validate({name: getattr(params, name) for name in cls.model_fields})
