"""Section `checkpoints` of params.yaml: which checkpoint series, and how each checkpoint is
evaluated (stage `checkpoints`; reference/algorithms.md 4.7, 4.8, 4.10)."""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tasks.checkpoints.verifiers import VERIFIERS
from tasks.config import EngineParams, ModelName, PositiveInt, Seed, Strict
from tasks.models.formats import known_single_hop


class CheckpointRef(Strict):
    path: str  # an HF model directory
    step: Annotated[int, Field(ge=0)]


class CheckpointsConfig(Strict):
    """Stage `checkpoints`: policy entropy, accuracy, pass@k, high window-entropy share, EPR and
    response length of a checkpoint series, and the fit R = -a exp(H) + b across it
    (reference/algorithms.md 4.7, 4.8, 4.10)."""

    series: str | None = "data/rl_run/checkpoints"  # a directory of checkpoint folders
    checkpoints: list[CheckpointRef] = []  # or an explicit list (wins over series)
    like: ModelName = "world-l"  # a model of params.yaml whose settings (dtype, lengths) the series shares
    dataset: str = "world"  # held-out world QA, or a JSONL file with prompt and answer per line
    kinds: list[str] = []  # world: single-hop question kinds; [] = all
    prompts: PositiveInt = 64
    samples: PositiveInt = 8  # rollouts per prompt at `temperature`
    pass_k: list[PositiveInt] = [1, 4, 8]
    verifier: Annotated[str, VERIFIERS.checked()] = "exact_match"  # tasks/checkpoints/verifiers.py
    max_tokens: PositiveInt = 16
    stop: list[str] = ["\n"]  # a world answer is one line
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    epr_top_k: PositiveInt = 10  # top-K log-probs behind the Entropy Production Rate
    # Where each token's full-vocabulary entropy comes from. `hf`: the engine samples (top-K
    # log-probs only), then one teacher-forced transformers pass over every completion computes
    # it from the logits (exact; no Python object per vocabulary entry). `engine`: the engine
    # returns every log-prob of every step (vLLM: ~17 tokens/s on two cores).
    entropy_from: Literal["hf", "engine"] = "hf"
    hwe_window: PositiveInt = 4  # tokens in ARES' forward window
    hwe_percentile: Annotated[float, Field(gt=0.0, lt=100.0)] = 80.0  # of the first checkpoint's windows
    seed: Seed = 0

    @model_validator(mode="after")
    def _known(self) -> "CheckpointsConfig":
        known_single_hop(self.kinds)
        if self.series is None and not self.checkpoints:
            raise ValueError("series: give a directory of checkpoints or a checkpoints list")
        too_big = [k for k in self.pass_k if k > self.samples]
        if too_big:
            raise ValueError(f"pass_k: {too_big[0]} exceeds samples {self.samples}")
        return self


class CheckpointsParams(EngineParams):
    checkpoints: CheckpointsConfig = CheckpointsConfig()
