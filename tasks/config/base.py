"""The building blocks of every config section: frozen models that reject unknown keys, and the
bounded scalar types sections share."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
# numpy's default_rng, random.seed and torch's generators take no negative seed: say so at load.
Seed = Annotated[int, Field(ge=0)]
Dtype = Literal["float32", "bfloat16", "float16", "auto"]
