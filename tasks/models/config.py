"""Section `training` of params.yaml: how the `models` stage trains the family (the `models`
section itself, shared by every stage, is tasks/config/models.py)."""

from typing import Annotated

from pydantic import Field, model_validator

from tasks.config import EngineParams, Fraction, PositiveInt, Seed, Strict
from tasks.world.config import WorldConfig

BLOCKS = ("answer", "notes", "entities", "relation", "keep")  # prompts of tasks/prompts/ after a document


class TrainingConfig(Strict):
    """How the `models` stage trains the models with a `train` recipe: shared by the family."""

    seed: Seed = 0
    tokenizer: str = "data/models/world-tokenizer"  # the family's byte-level BPE tokenizer
    vocab_size: Annotated[int, Field(ge=260)] = 2048  # 256 bytes + special tokens + merges
    tokenizer_documents: PositiveInt = 2000  # fresh documents the tokenizer learns merges from
    # Expected blocks of each role after the document in a training sample (loss on answers only);
    # the rest of the samples are plain documents with loss on every token.
    blocks: dict[str, Annotated[float, Field(ge=0.0)]] = {
        "answer": 4,
        "notes": 1,
        "entities": 1,
        "relation": 1,
        "keep": 1,
    }
    document_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    warmup: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05  # share of steps
    final_lr: Fraction = 0.1  # cosine decay to this share of the peak
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.1  # on matrices only
    clip: Annotated[float, Field(gt=0.0)] = 1.0
    bf16: bool = True  # autocast, where the CPU has bf16 instructions (else fp32: emulation is ~20x slower)
    threads: PositiveInt | None = None  # torch threads; None = all cores
    checkpoints: Annotated[int, Field(ge=0)] = 4  # saved evenly along training, with their step
    log_every: PositiveInt = 50
    eval_documents: PositiveInt = 100  # held-out documents each model is scored on

    @model_validator(mode="after")
    def _known_blocks(self) -> "TrainingConfig":
        unknown = sorted(set(self.blocks) - set(BLOCKS))
        if unknown:
            raise ValueError(f"blocks: unknown prompt {unknown[0]!r} (known: {', '.join(BLOCKS)})")
        if not any(self.blocks.values()):
            raise ValueError("blocks: every count is 0; nothing to learn beyond plain documents")
        return self


class ModelsParams(EngineParams):
    """Stage `models` trains on fresh documents drawn like the world's (its distractors, boilerplate)."""

    training: TrainingConfig = TrainingConfig()
    world: WorldConfig = WorldConfig()
