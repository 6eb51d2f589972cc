"""Section `compression` of params.yaml: distil, annotate, train, compress, evaluate (stage
`compression`; reference/algorithms.md Job 1)."""

from typing import Annotated

from pydantic import Field, model_validator

from tasks.compression.base import COMPRESSORS
from tasks.compression.teachers import TEACHERS
from tasks.config import EngineParams, Fraction, ModelName, PositiveInt, Seed, Strict
from tasks.prompts import PromptName
from tasks.samplers import SamplingConfig

CompressorName = Annotated[str, COMPRESSORS.checked()]
TeacherMethod = Annotated[str, TEACHERS.checked()]


class TeacherConfig(Strict):
    """A teacher of the distillation: its own name, how it compresses (tasks/compression/teachers/),
    the model and prompt it asks (tasks/prompts/), and for `extractive` the share of words it may keep."""

    name: Annotated[str, Field(min_length=1)]
    method: TeacherMethod = "llm"
    model: ModelName | None = None
    prompt: PromptName = "compress"  # the paper's instruction; the family answers its trained `keep` format
    rate: Fraction = 0.5  # extractive: most words kept, as a share of the chunk's words
    min_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # extractive: fewest (at least one word)

    @model_validator(mode="after")
    def _model(self) -> "TeacherConfig":
        if TEACHERS.get(self.method).needs_model and self.model is None:
            raise ValueError(f"model: teacher {self.name} ({self.method}) needs a model")
        if self.min_rate > self.rate:
            raise ValueError(f"min_rate: {self.min_rate} is above rate {self.rate}")
        return self


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
    prompt: PromptName = "qa"  # how the predictor is asked; the family reads its trained `answer` format
    rates: list[Fraction] = [0.33, 0.5, 0.7, 1.0]
    methods: list[CompressorName] = [
        "llmlingua2",
        "random_drop",
        "truncate",
        "selective_context",
        "llmlingua1",
    ]
    world_documents: PositiveInt = 40  # held-out world documents; every question of each
    # Reuters articles: answer-free figures only (named entities and numbers kept, achieved ratio)
    real_documents: Annotated[int, Field(ge=0)] = 24
    max_tokens: PositiveInt = 16
    seed: Seed = 0

    @model_validator(mode="after")
    def _rates(self) -> "CompressionEvalConfig":
        if not self.rates:
            raise ValueError("rates is empty")
        return self


class CompressionConfig(Strict):
    """Stage `compression`: distil, annotate, train, compress, evaluate (reference/algorithms.md Job 1)."""

    teachers: list[TeacherConfig] = [TeacherConfig(name="smollm2", model="smollm2-135m-instruct")]
    teacher: str = "smollm2"  # the teacher whose labels train the classifier (by label F1)
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

    @model_validator(mode="after")
    def _teachers(self) -> "CompressionConfig":
        names = [t.name for t in self.teachers]
        if len(set(names)) != len(names):
            raise ValueError(f"teachers: names repeat ({', '.join(names)})")
        if self.teacher not in names:
            raise ValueError(f"teacher: {self.teacher!r} is not one of the teachers ({', '.join(names)})")
        return self


class CompressionParams(EngineParams):
    compression: CompressionConfig = Field(default_factory=CompressionConfig)
