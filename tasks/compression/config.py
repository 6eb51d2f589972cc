"""Section `compression` of params.yaml: distil, annotate, train, compress, evaluate (stage
`compression`; reference/algorithms.md Job 1)."""

from typing import Annotated

from pydantic import Field, model_validator

from tasks.compression.base import COMPRESSORS
from tasks.config import EngineParams, Fraction, ModelName, PositiveInt, Seed, Strict
from tasks.prompts import PromptName
from tasks.samplers import SamplingConfig

CompressorName = Annotated[str, COMPRESSORS.checked()]


class TeacherConfig(Strict):
    """A teacher LLM of the distillation and the prompt it is asked with (tasks/prompts/)."""

    model: ModelName
    prompt: PromptName = "compress"  # the paper's instruction; the family answers its trained `keep` format


class ClassifierConfig(Strict):
    """The keep/drop token classifier (LLMLingua-2 recipe, scaled to the data)."""

    base: ModelName = "minilm-l6"  # the encoder to fine-tune
    # A released LLMLingua-2 checkpoint (HF id) to compress with instead of training one (gpu).
    released: str | None = None
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 10
    lr: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-5
    validation: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2  # random share held out (paper: 80/20)
    seed: Seed = 0


class CompressionEvalConfig(Strict):
    predictor: ModelName = "smollm2-135m-instruct"
    rates: list[Fraction] = [0.2, 0.33, 0.5, 0.7, 1.0]
    methods: list[CompressorName] = [
        "llmlingua2",
        "random_drop",
        "truncate",
        "selective_context",
        "llmlingua1",
    ]
    world_documents: PositiveInt = 16  # held-out world documents; every question of each
    real_documents: Annotated[int, Field(ge=0)] = 16  # Reuters chunks with cloze questions
    cloze_per_document: PositiveInt = 2
    max_tokens: PositiveInt = 16
    seed: Seed = 0

    @model_validator(mode="after")
    def _rates(self) -> "CompressionEvalConfig":
        if not self.rates:
            raise ValueError("rates is empty")
        return self


class CompressionConfig(Strict):
    """Stage `compression`: distil, annotate, train, compress, evaluate (reference/algorithms.md Job 1)."""

    teachers: list[TeacherConfig] = [TeacherConfig(model="smollm2-135m-instruct")]
    world_documents: PositiveInt = 200  # train-split documents the teachers compress
    real_chunks: Annotated[int, Field(ge=0)] = 40  # corpus chunks the teachers compress
    chunk_tokens: PositiveInt = 512  # teacher chunks, in GPT (cl100k) tokens, cut at sentence ends
    teacher_sampling: SamplingConfig = SamplingConfig(
        max_tokens=384, temperature=0.3, logprobs=0, entropy=False
    )
    window: PositiveInt = 400  # alignment window (label_word.py, collect_data.sh)
    filter_quantile: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9  # drop chunks at or above it, VR then AG
    max_variation_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2  # above it: not extractive
    classifier: ClassifierConfig = ClassifierConfig()
    scorer: ModelName = "smollm2-135m-instruct"  # the causal LM behind selective_context and llmlingua1
    parity_documents: PositiveInt = 24  # real documents compressed by ours and by the llmlingua package
    # A factory: its default consults the compressor registry, which fills as this package imports.
    evaluation: CompressionEvalConfig = Field(default_factory=CompressionEvalConfig)


class CompressionParams(EngineParams):
    compression: CompressionConfig = Field(default_factory=CompressionConfig)
