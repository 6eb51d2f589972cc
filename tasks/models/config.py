"""Section `training` of params.yaml: how the `models` stage trains the family (the `models`
section itself, shared by every stage, is tasks/config/models.py)."""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tasks.config import EngineParams, Fraction, PositiveInt, Seed, Strict
from tasks.world.config import WorldConfig
from tasks.world.document import QUESTIONS, SINGLE_HOP

BLOCKS = ("answer", "notes", "entities", "relation", "keep")  # prompts of tasks/prompts/ after a document
Count = Annotated[float, Field(ge=0.0)]


class Phase(Strict):
    """A stretch of training: its share of the steps and what each of its samples holds.

    A sample is one fresh document followed by role blocks; `blocks` gives the expected count of
    each role (1.5: one, a second half the time; a count above a role's pool takes the whole pool).
    `kinds` limits the questions answer blocks ask; `distractors` and `boilerplate` override the
    world's, for a curriculum of shorter documents."""

    share: Annotated[float, Field(gt=0.0, le=1.0)]
    blocks: dict[str, Count]
    kinds: list[str] | None = None  # question kinds of answer blocks (None: every kind)
    distractors: Annotated[int, Field(ge=0, le=8)] | None = None
    boilerplate: bool | None = None

    @model_validator(mode="after")
    def _known_blocks(self) -> "Phase":
        unknown = sorted(set(self.blocks) - set(BLOCKS))
        if unknown:
            raise ValueError(f"blocks: unknown prompt {unknown[0]!r} (known: {', '.join(BLOCKS)})")
        if not any(self.blocks.values()):
            raise ValueError("blocks: every count is 0; a sample would be a bare document")
        unknown = sorted(set(self.kinds or ()) - set(QUESTIONS))
        if unknown:
            raise ValueError(f"kinds: unknown question kind {unknown[0]!r} (known: {', '.join(QUESTIONS)})")
        return self


class LossWeights(Strict):
    """Loss = tokens * (mean cross-entropy over every token) + targets * (mean over role targets).

    Next-token loss on the document teaches copying multi-token names (they repeat in it); the
    target loss teaches retrieving single facts. Measured in reference/family.md: each alone reads
    30-53%, both together 65% at 3,000 steps."""

    tokens: Annotated[float, Field(ge=0.0)] = 1.0
    targets: Annotated[float, Field(ge=0.0)] = 1.0

    @model_validator(mode="after")
    def _some_loss(self) -> "LossWeights":
        if not (self.tokens or self.targets):
            raise ValueError("loss: tokens and targets are both 0; nothing to learn")
        return self


class TrainingConfig(Strict):
    """How the `models` stage trains the models with a `train` recipe: shared by the family."""

    seed: Seed = 0  # a member's own seed is this plus a number derived from its name
    tokenizer: str = "data/models/world-tokenizer"  # the family's byte-level BPE tokenizer
    vocab_size: Annotated[int, Field(ge=260)] = 2048  # 256 bytes + special tokens + merges
    tokenizer_documents: PositiveInt = 2000  # fresh documents the tokenizer learns merges from
    # Reading first (questions only), then the other roles mixed in: roles from step 0 delay reading.
    phases: list[Phase] = [
        Phase(share=0.8, blocks={"answer": 6}, kinds=list(SINGLE_HOP)),
        Phase(share=0.2, blocks={"answer": 4, "notes": 1, "entities": 1, "relation": 1, "keep": 1}),
    ]
    loss: LossWeights = LossWeights()
    warmup: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05  # share of steps
    final_lr: Fraction = 0.1  # cosine decay to this share of the peak
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.1  # on matrices only
    clip: Annotated[float, Field(gt=0.0)] = 1.0
    # float32 on every CPU: bf16 autocast is faster only where the CPU has bf16 instructions, and
    # gives other numbers; it runs only when asked, never by a CPU-flag check.
    precision: Literal["float32", "bfloat16"] = "float32"
    threads: PositiveInt | None = None  # torch threads; None = all cores
    checkpoints: Annotated[int, Field(ge=0)] = 4  # saved and scored evenly along training
    curve_documents: PositiveInt = 50  # held-out documents scored at each checkpoint (6 questions each)
    log_every: PositiveInt = 50
    eval_documents: PositiveInt = 100  # held-out documents each model is scored on at the end

    @model_validator(mode="after")
    def _phases_cover_training(self) -> "TrainingConfig":
        if not self.phases:
            raise ValueError("phases: give at least one")
        total = sum(phase.share for phase in self.phases)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"phases: shares sum to {total:g}, not 1")
        return self


class ModelsParams(EngineParams):
    """Stage `models` trains on fresh documents drawn like the world's (its distractors, boilerplate)."""

    training: TrainingConfig = TrainingConfig()
    world: WorldConfig = WorldConfig()
