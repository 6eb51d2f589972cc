"""Section `mi_sweep` of params.yaml: the grid of compressor x predictor x budget x dataset cells
and the MI estimate of their compressions (stage `mi_sweep`; reference/algorithms.md Job 3)."""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tasks.config import EngineParams, Fraction, ModelName, PositiveInt, Seed, Strict
from tasks.mi.base import ESTIMATORS
from tasks.mi.datasets import DATASETS
from tasks.prompts import PromptName


class MiSweepConfig(Strict):
    """Stage `mi_sweep`: compressor x predictor x budget x dataset cells; MI of the compressions
    (reference/algorithms.md Job 3)."""

    datasets: list[str] = ["world"]  # tasks/mi/datasets.py
    dataset_files: dict[str, str] = {}  # dataset name -> JSONL file, for the `jsonl` dataset kind
    contexts: Annotated[int, Field(ge=2)] = 64  # N contexts per dataset, one question each
    compressors: list[ModelName] = ["world-s"]
    predictors: list[ModelName] = ["world-s"]
    budgets: list[PositiveInt] = [32]  # max tokens of the notes
    samples: PositiveInt = 1  # compressions per context
    prompt: PromptName = "notes"  # the compressor's prompt (tasks/prompts/)
    predictor_prompt: PromptName = "answer"
    # A predictor enters the analyses when it answers this share of the items from the whole
    # context X (measured in the stage: `predictor_uncompressed_accuracy`); below it, its cells are
    # reported and left out (a predictor that cannot read says nothing about what Z carries).
    min_predictor_accuracy: Fraction = 0.3
    # Compressors of another family: reported beside the family, left out of the scaling fit
    # (a name that is not among the compressors has nothing to leave out).
    out_of_family: list[ModelName] = []
    # MI needs stochastic compressions: at temperature 0 every z is a function of x. At 1.0 (and
    # top_p 1) z is drawn from the very distribution the scorer's log-probs describe.
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    top_p: Fraction = 1.0
    answer_tokens: PositiveInt = 16
    # Who scores log p(z | x, q): the compressor itself, or a fixed model.
    scorer: Literal["compressor"] | ModelName = "compressor"
    estimator: Annotated[str, ESTIMATORS.checked()] = "monte_carlo"  # tasks/mi/ ESTIMATORS
    other_contexts: PositiveInt = 31  # M: other contexts x_j in each sample's marginal
    clip: bool = False
    seed: Seed = 0

    @model_validator(mode="after")
    def _grid(self) -> "MiSweepConfig":
        for field in ("datasets", "compressors", "predictors", "budgets"):
            if not getattr(self, field):
                raise ValueError(f"{field} is empty")
        for name in self.datasets:
            if name not in DATASETS and name not in self.dataset_files:
                known = ", ".join(DATASETS.names())
                raise ValueError(
                    f"datasets: unknown dataset {name!r} (known: {known}, or a name in dataset_files)"
                )
        if self.other_contexts > self.contexts - 1:
            raise ValueError(
                f"other_contexts: M = {self.other_contexts} but there are only {self.contexts - 1} "
                "other contexts per sample (contexts - 1)"
            )
        return self


class MiSweepParams(EngineParams):
    mi_sweep: MiSweepConfig = Field(default_factory=MiSweepConfig)  # its default consults registries
