"""Section `world` of params.yaml: the miniature world's sizes and seed (stage `world`)."""

from typing import Annotated

from pydantic import Field

from tasks.config import PositiveInt, Seed, StageParams, Strict


class WorldSplit(Strict):
    """Entity counts of one split; one document per organisation."""

    organisations: PositiveInt
    people: PositiveInt
    cities: PositiveInt
    products: PositiveInt


class WorldConfig(Strict):
    seed: Seed = 0
    train: WorldSplit = WorldSplit(organisations=400, people=800, cities=120, products=400)
    heldout: WorldSplit = WorldSplit(organisations=100, people=200, cities=40, products=100)
    distractors: Annotated[int, Field(ge=0, le=8)] = 2  # sentences per document a compressor should drop
    boilerplate: bool = True  # a header and a footer line per document


class WorldParams(StageParams):
    world: WorldConfig = WorldConfig()
