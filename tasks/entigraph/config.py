"""Section `entigraph` of params.yaml: entities, relations, corpus, CPT, closed-book QA (stage
`entigraph`; reference/algorithms.md Job 2)."""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tasks.config import EngineParams, Fraction, ModelName, PositiveInt, Seed, Strict
from tasks.entigraph.extraction import EXTRACTORS
from tasks.entigraph.questions import FORMS, Form
from tasks.prompts import PromptName
from tasks.samplers import SamplingConfig
from tasks.world.document import QUESTIONS


class EntitiesConfig(Strict):
    """Step 1: salient entities (and a summary) per source document."""

    # Tried in order per document; the first that yields an entity wins. Every one is scored.
    extractors: list[Annotated[str, EXTRACTORS.checked()]] = ["llm", "spacy"]
    model: ModelName = "smollm2-135m-instruct"  # the generator LLM of the `llm` extractor
    prompt: PromptName = "entigraph_entities"  # tasks/prompts/: the paper's JSON instruction
    family_model: ModelName | None = None  # the `family` extractor's model (trained on the `entities` role)
    retries: Annotated[int, Field(ge=0, le=10)] = 2  # malformed output is re-asked at most this often
    max_entities: PositiveInt = 16  # kept per document, in order of first mention
    sampling: SamplingConfig = SamplingConfig(max_tokens=256, temperature=1.0, logprobs=0, entropy=False)

    @model_validator(mode="after")
    def _extractors(self) -> "EntitiesConfig":
        if not self.extractors:
            raise ValueError("extractors is empty")
        if "family" in self.extractors and not self.family_model:
            raise ValueError("the family extractor needs family_model")
        return self


class RelationsConfig(Strict):
    """Step 2: relation analyses of entity pairs and sampled triples, under token budgets."""

    model: ModelName = "smollm2-135m-instruct"
    pair_prompt: PromptName = "entigraph_pair"
    triple_prompt: PromptName = "entigraph_triple"
    max_pairs: Annotated[int, Field(ge=0)] = 100  # per document, in entity order
    max_triples: Annotated[int, Field(ge=0)] = 20  # per document, sampled (shuffled with `seed`)
    doc_budget_tokens: Annotated[int, Field(ge=0)] = 20_000  # reserved new tokens per document
    budget_tokens: Annotated[int, Field(ge=0)] = 1_000_000  # reserved new tokens over all documents
    seed: Seed = 42  # the reference shuffles triples with random.seed(42)
    sampling: SamplingConfig = SamplingConfig(max_tokens=512, temperature=1.0, logprobs=0, entropy=False)


class RephraseConfig(Strict):
    """The Rephrase CPT baseline: the relation step's generator and sampling rewrite each
    document once per style (the paper's baseline, WRAP styles), in the same engine batch."""

    prompt: PromptName = "entigraph_rephrase"
    styles: list[str] = [
        "like a Wikipedia article",
        "in simple words a child could understand",
        "as a short formal summary",
        "as a news report",
    ]


class CptConfig(Strict):
    """Step 4: continued pretraining with transformers' Trainer (the paper's recipe, scaled)."""

    base: ModelName = "world-s"  # a model of params.yaml with a local path
    budgets: list[Fraction] = [0.125, 0.25, 0.5, 1.0]  # shares of the EntiGraph token stream
    epochs: PositiveInt = 2
    block_size: PositiveInt = 256
    batch_size: PositiveInt = 16
    lr: Annotated[float, Field(gt=0.0, lt=1.0)] = 5e-6
    warmup: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.01
    replay_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1  # blocks swapped for generic text
    seed: Seed = 0

    @model_validator(mode="after")
    def _budgets(self) -> "CptConfig":
        if not self.budgets:
            raise ValueError("budgets is empty")
        return self


class QaConfig(Strict):
    """Step 5: closed-book multiple-choice QA on the source documents (lm-eval, local YAML)."""

    kinds: list[str] = ["founder", "founded", "city", "product", "ceo", "revenue"]
    # tasks/entigraph/questions.py: forward (the world's wording), reversed, paraphrased
    forms: list[Form] = list(FORMS)
    choices: Annotated[int, Field(ge=2, le=10)] = 4  # gold + distractors of the same kind
    seed: Seed = 0

    @model_validator(mode="after")
    def _kinds(self) -> "QaConfig":
        if not self.forms:
            raise ValueError("forms is empty")
        for kind in self.kinds:
            if kind not in QUESTIONS:
                raise ValueError(f"kinds: unknown question kind {kind!r} (known: {', '.join(QUESTIONS)})")
        return self


class EntigraphConfig(Strict):
    """Stage `entigraph`: entities, relations, corpus, CPT, closed-book QA (algorithms.md Job 2)."""

    source: Literal["world", "quality"] = "world"  # tasks/entigraph/sources.py
    quality_file: str | None = None  # a QuALITY v1.0.1 JSONL file (source: quality)
    documents: PositiveInt = 32  # source documents (world: held-out, entities the family never saw)
    # Factories: their defaults consult registries that fill as this package imports its members.
    entities: EntitiesConfig = Field(default_factory=EntitiesConfig)
    relations: RelationsConfig = RelationsConfig()
    rephrase: RephraseConfig = RephraseConfig()
    near_duplicate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8  # word 5-gram Jaccard to drop a row
    cpt: CptConfig = CptConfig()
    qa: QaConfig = QaConfig()

    @model_validator(mode="after")
    def _quality_file(self) -> "EntigraphConfig":
        if self.source == "quality" and not self.quality_file:
            raise ValueError("source quality needs quality_file")
        return self


class EntigraphParams(EngineParams):
    entigraph: EntigraphConfig = Field(default_factory=EntigraphConfig)
