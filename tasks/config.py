"""params.yaml as typed, frozen configs that reject unknown keys; the one loader everything uses."""

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.errors import InfopipeError

PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
Dtype = Literal["float32", "bfloat16", "float16", "auto"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GgufBuild(Strict):
    """The `models` stage dequantizes a GGUF file shipped in a Python package into `path`."""

    package: str
    file: str
    save_dtype: Dtype = "bfloat16"


# Head sizes vLLM's CPU attention runs (vllm/v1/attention/backends/cpu_attn.py); smaller ones fail.
VLLM_CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


class TrainRecipe(Strict):
    """A Llama model the `models` stage trains from scratch on the world's task formats.

    Budgets are in optimizer steps, not seconds, so the same params give the same model."""

    hidden: PositiveInt
    layers: PositiveInt
    head_dim: PositiveInt = 64
    steps: PositiveInt
    lr: Annotated[float, Field(gt=0.0, lt=1.0)]
    batch_size: PositiveInt = 16

    @model_validator(mode="after")
    def _heads(self) -> "TrainRecipe":
        if self.head_dim not in VLLM_CPU_HEAD_SIZES:
            raise ValueError(
                f"head_dim {self.head_dim} is not one vLLM's CPU attention runs {VLLM_CPU_HEAD_SIZES}"
            )
        if self.hidden % self.head_dim:
            raise ValueError(f"hidden {self.hidden} is not a multiple of head_dim {self.head_dim}")
        return self


class ModelSpec(Strict):
    """A named model: exactly one of a local `path`, a Hugging Face `hf_id` or a `package` dir."""

    path: str | None = None
    hf_id: str | None = None
    package: str | None = None
    revision: str | None = None
    dtype: Dtype = "float32"
    max_model_len: PositiveInt = 2048
    chat_template: bool = False
    roles: list[str] = []
    trust_remote_code: bool = False
    build: GgufBuild | None = None
    train: TrainRecipe | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "ModelSpec":
        given = [k for k in ("path", "hf_id", "package") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, hf_id, package (got {given or 'none'})")
        if self.build and self.train:
            raise ValueError("give at most one of build, train")
        if (self.build or self.train) and not self.path:
            raise ValueError("build and train need a path to write the model to")
        return self


class EngineConfig(Strict):
    """Inference backend settings shared by every job; the backend is a registry name."""

    backend: str = "vllm"
    seed: int = 0
    enforce_eager: bool = True
    kv_cache_gib: PositiveInt = 1  # vLLM CPU KV cache in GiB (VLLM_CPU_KVCACHE_SPACE)
    gpu_memory_utilization: Fraction = 0.85
    tensor_parallel_size: PositiveInt = 1
    max_logprobs: PositiveInt = 20  # top-k kept per step; entropy is computed from these
    cpu_threads: Literal["all", "vllm-default"] = "all"
    in_process: bool = True  # vLLM engine core and worker in this process (tensor_parallel_size 1)
    # vLLM may split a prompt's prefill over steps; vLLM 0.32's CPU runner then crashes on seeded
    # sampling ("CPU Generator does not use offset"). Off: every prompt is prefilled whole.
    chunked_prefill: bool = True
    # vLLM reuses the KV cache of shared prompt prefixes (whole blocks of `block_size` tokens;
    # None = vLLM's default, 128 on CPU, so a shared prefix shorter than that is not reused).
    prefix_caching: bool = True
    block_size: PositiveInt | None = None
    hf_batch_size: PositiveInt = 8
    hf_device: str = "cpu"

    @model_validator(mode="after")
    def _in_process_single(self) -> "EngineConfig":
        if self.in_process and self.tensor_parallel_size > 1:
            raise ValueError("in_process needs tensor_parallel_size 1 (set in_process: false)")
        return self


class SamplerSetting(Strict):
    """A sampler of tasks/decoding with its arguments, its temperature, and which of the two
    comes first (HF and min-p's paper: temperature, then truncation). Inside vLLM it runs as a
    logits processor on raw logits, so vLLM's own temperature stays 1."""

    name: str
    args: dict[str, Any] = {}
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    order: Literal["temperature_first", "truncation_first"] = "temperature_first"

    @model_validator(mode="after")
    def _known(self) -> "SamplerSetting":
        from tasks.decoding import build

        try:
            build(self)
        except InfopipeError as err:
            raise ValueError(str(err)) from None
        return self

    @property
    def label(self) -> str:
        """A readable, unique name: `typical(tau=0.9)`, with T and order where not default."""
        parts = [f"{k}={v}" for k, v in sorted(self.args.items())]
        if self.temperature != 1.0:
            parts.append(f"T={self.temperature:g}")
        if self.order != "temperature_first":
            parts.append("truncation_first")
        return f"{self.name}({','.join(parts)})" if parts else self.name


class SamplingConfig(Strict):
    """What to sample and what to return per request. A `sampler` (tasks/decoding) owns the
    temperature and the truncation: beside it, temperature, top_p, top_k and min_p stay unset."""

    max_tokens: PositiveInt = 64
    min_tokens: Annotated[int, Field(ge=0)] = 0
    temperature: Annotated[float, Field(ge=0.0)] = 0.0
    top_p: Fraction = 1.0
    top_k: Annotated[int, Field(ge=0)] = 0  # 0 = off
    min_p: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    seed: int | None = None
    stop: list[str] = []
    ignore_eos: bool = False
    logprobs: Annotated[int, Field(ge=0)] = 5  # top-k log-probs returned per step
    entropy: bool = True
    sampler: SamplerSetting | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> "SamplingConfig":
        if self.sampler is not None:
            beside = {"temperature": 0.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0}
            for key, unset in beside.items():
                if getattr(self, key) != unset:
                    raise ValueError(f"{key}: set it in the sampler ({self.sampler.name}), not beside it")
        return self

    @property
    def greedy(self) -> bool:
        return self.sampler.name == "greedy" if self.sampler else self.temperature == 0.0


class GenerateConfig(Strict):
    model: str
    prompts: list[str] | None = None
    prompts_file: str | None = None  # .txt (one prompt a line) or .jsonl (field "prompt")
    truncation: Literal["error", "left"] = "error"  # a prompt longer than the context
    sampling: SamplingConfig = SamplingConfig()

    @model_validator(mode="after")
    def _one_prompt_source(self) -> "GenerateConfig":
        if (self.prompts is None) == (self.prompts_file is None):
            raise ValueError("give exactly one of prompts, prompts_file")
        if self.prompts is not None and not self.prompts:
            raise ValueError("prompts is empty")
        return self


class EngineBenchConfig(Strict):
    model: str
    num_prompts: PositiveInt = 32
    max_tokens: PositiveInt = 64
    repeats: PositiveInt = 3
    backends: list[str] = ["vllm", "hf"]


class MiBenchConfig(Strict):
    model: str
    contexts: Annotated[int, Field(ge=2)] = 64  # N: N x N log-likelihoods are scored
    repeats: PositiveInt = 1


class DecodingBenchConfig(Strict):
    model: str
    prompts: PositiveInt = 32
    max_tokens: PositiveInt = 64
    repeats: PositiveInt = 3
    top_p: Fraction = 0.9  # vLLM's built-in top-p, the baseline every processor is timed against


class BenchConfig(Strict):
    engine: EngineBenchConfig
    mi: MiBenchConfig | None = None
    decoding: DecodingBenchConfig | None = None


class WorldSplit(Strict):
    """Entity counts of one split; one document per organisation."""

    organisations: PositiveInt
    people: PositiveInt
    cities: PositiveInt
    products: PositiveInt


class WorldConfig(Strict):
    seed: int = 0
    train: WorldSplit = WorldSplit(organisations=400, people=800, cities=120, products=400)
    heldout: WorldSplit = WorldSplit(organisations=100, people=200, cities=40, products=100)
    distractors: Annotated[int, Field(ge=0, le=8)] = 2  # sentences per document a compressor should drop
    boilerplate: bool = True  # a header and a footer line per document


class CorpusConfig(Strict):
    debian_root: str = ".cache/debian"  # where `make install` unpacks the Debian packages
    sources: list[str] = ["janeausten", "reuters"]
    chunk_words: PositiveInt = 250
    required: bool = False  # a missing package: an error instead of a one-line skip


def _known(kind: str, name: str) -> str:
    """`name` if the registry or prompt folder of `kind` has it, else a ValueError naming it."""
    from tasks import prompts
    from tasks.compression import COMPRESSORS

    try:
        prompts.load(name) if kind == "prompt" else COMPRESSORS.get(name)
    except InfopipeError as err:
        raise ValueError(err.problem) from None
    return name


class TeacherConfig(Strict):
    """A teacher LLM of the distillation and the prompt it is asked with (tasks/prompts/)."""

    model: str
    prompt: str = "compress"  # the paper's instruction; the family answers its trained `keep` format

    @model_validator(mode="after")
    def _prompt(self) -> "TeacherConfig":
        _known("prompt", self.prompt)
        return self


class ClassifierConfig(Strict):
    """The keep/drop token classifier (LLMLingua-2 recipe, scaled to the data)."""

    base: str = "minilm-l6"  # a model of params.yaml: the encoder to fine-tune
    # A released LLMLingua-2 checkpoint (HF id) to compress with instead of training one (gpu).
    released: str | None = None
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 10
    lr: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-5
    validation: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2  # random share held out (paper: 80/20)
    seed: int = 0


class CompressionEvalConfig(Strict):
    predictor: str = "smollm2-135m-instruct"
    rates: list[Fraction] = [0.2, 0.33, 0.5, 0.7, 1.0]
    methods: list[str] = ["llmlingua2", "random_drop", "truncate", "selective_context", "llmlingua1"]
    world_documents: PositiveInt = 16  # held-out world documents; every question of each
    real_documents: Annotated[int, Field(ge=0)] = 16  # Reuters chunks with cloze questions
    cloze_per_document: PositiveInt = 2
    max_tokens: PositiveInt = 16
    seed: int = 0

    @model_validator(mode="after")
    def _methods(self) -> "CompressionEvalConfig":
        for name in self.methods:
            _known("compressor", name)
        if not self.rates:
            raise ValueError("rates is empty")
        return self


class CompressionConfig(Strict):
    """Stage `compression`: distil, annotate, train, compress, evaluate (reference/algorithms.md Job 1)."""

    # Factories: the validators of these configs consult registries that import this module.
    teachers: list[TeacherConfig] = Field(
        default_factory=lambda: [TeacherConfig(model="smollm2-135m-instruct")]
    )
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
    scorer: str = "smollm2-135m-instruct"  # the causal LM behind selective_context and llmlingua1
    parity_documents: PositiveInt = 24  # real documents compressed by ours and by the llmlingua package
    evaluation: CompressionEvalConfig = Field(default_factory=CompressionEvalConfig)


class EntitiesConfig(Strict):
    """Step 1: salient entities (and a summary) per source document."""

    # Tried in order per document; the first that yields an entity wins. Every one is scored.
    extractors: list[str] = ["llm", "spacy"]
    model: str = "smollm2-135m-instruct"  # the generator LLM of the `llm` extractor
    prompt: str = "entigraph_entities"  # tasks/prompts/: the paper's JSON instruction
    family_model: str | None = None  # the `family` extractor's model (trained on the `entities` role)
    retries: Annotated[int, Field(ge=0, le=10)] = 2  # malformed output is re-asked at most this often
    max_entities: PositiveInt = 16  # kept per document, in order of first mention
    sampling: SamplingConfig = SamplingConfig(max_tokens=256, temperature=1.0, logprobs=0, entropy=False)

    @model_validator(mode="after")
    def _known(self) -> "EntitiesConfig":
        from tasks.entigraph.entities import EXTRACTORS

        if not self.extractors:
            raise ValueError("extractors is empty")
        for name in self.extractors:
            try:
                EXTRACTORS.get(name)
            except InfopipeError as err:
                raise ValueError(err.problem) from None
        _known("prompt", self.prompt)
        if "family" in self.extractors and not self.family_model:
            raise ValueError("the family extractor needs family_model")
        return self


class RelationsConfig(Strict):
    """Step 2: relation analyses of entity pairs and sampled triples, under token budgets."""

    model: str = "smollm2-135m-instruct"
    pair_prompt: str = "entigraph_pair"
    triple_prompt: str = "entigraph_triple"
    max_pairs: Annotated[int, Field(ge=0)] = 100  # per document, in entity order
    max_triples: Annotated[int, Field(ge=0)] = 20  # per document, sampled (shuffled with `seed`)
    doc_budget_tokens: Annotated[int, Field(ge=0)] = 20_000  # reserved new tokens per document
    budget_tokens: Annotated[int, Field(ge=0)] = 1_000_000  # reserved new tokens over all documents
    seed: int = 42  # the reference shuffles triples with random.seed(42)
    sampling: SamplingConfig = SamplingConfig(max_tokens=512, temperature=1.0, logprobs=0, entropy=False)

    @model_validator(mode="after")
    def _prompts(self) -> "RelationsConfig":
        _known("prompt", self.pair_prompt)
        _known("prompt", self.triple_prompt)
        return self


class CptConfig(Strict):
    """Step 4: continued pretraining with transformers' Trainer (the paper's recipe, scaled)."""

    base: str = "world-s"  # a model of params.yaml with a local path
    budgets: list[Fraction] = [0.125, 0.25, 0.5, 1.0]  # shares of the EntiGraph token stream
    epochs: PositiveInt = 2
    block_size: PositiveInt = 256
    batch_size: PositiveInt = 16
    lr: Annotated[float, Field(gt=0.0, lt=1.0)] = 5e-6
    warmup: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.01
    replay_rate: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1  # blocks swapped for generic text
    seed: int = 0

    @model_validator(mode="after")
    def _budgets(self) -> "CptConfig":
        if not self.budgets:
            raise ValueError("budgets is empty")
        return self


class QaConfig(Strict):
    """Step 5: closed-book multiple-choice QA on the source documents (lm-eval, local YAML)."""

    kinds: list[str] = ["founder", "founded", "city", "product", "ceo", "revenue"]
    choices: Annotated[int, Field(ge=2, le=10)] = 4  # gold + distractors of the same kind
    seed: int = 0

    @model_validator(mode="after")
    def _kinds(self) -> "QaConfig":
        from tasks.world.document import QUESTIONS

        for kind in self.kinds:
            if kind not in QUESTIONS:
                raise ValueError(f"kinds: unknown question kind {kind!r} (known: {', '.join(QUESTIONS)})")
        return self


class EntigraphConfig(Strict):
    """Stage `entigraph`: entities, relations, corpus, CPT, closed-book QA (algorithms.md Job 2)."""

    source: Literal["world", "quality"] = "world"  # tasks/entigraph/sources.py
    quality_file: str | None = None  # a QuALITY v1.0.1 JSONL file (source: quality)
    documents: PositiveInt = 32  # source documents (world: held-out, entities the family never saw)
    entities: EntitiesConfig = Field(default_factory=EntitiesConfig)
    relations: RelationsConfig = Field(default_factory=RelationsConfig)
    near_duplicate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8  # word 5-gram Jaccard to drop a row
    cpt: CptConfig = CptConfig()
    qa: QaConfig = Field(default_factory=QaConfig)

    @model_validator(mode="after")
    def _quality_file(self) -> "EntigraphConfig":
        if self.source == "quality" and not self.quality_file:
            raise ValueError("source quality needs quality_file")
        return self


class MiSweepConfig(Strict):
    """Stage `mi_sweep`: compressor x predictor x budget x dataset cells; MI of the compressions
    (reference/algorithms.md Job 3)."""

    datasets: list[str] = ["world"]  # tasks/mi/datasets.py
    dataset_files: dict[str, str] = {}  # dataset name -> JSONL file, for the `jsonl` dataset kind
    contexts: Annotated[int, Field(ge=2)] = 64  # N contexts per dataset, one question each
    compressors: list[str] = ["world-s"]
    predictors: list[str] = ["world-s"]
    budgets: list[PositiveInt] = [32]  # max tokens of the notes
    samples: PositiveInt = 1  # compressions per context
    prompt: str = "notes"  # the compressor's prompt (tasks/prompts/)
    predictor_prompt: str = "answer"
    # MI needs stochastic compressions: at temperature 0 every z is a function of x. At 1.0 (and
    # top_p 1) z is drawn from the very distribution the scorer's log-probs describe.
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    top_p: Fraction = 1.0
    answer_tokens: PositiveInt = 16
    scorer: str = "compressor"  # who scores log p(z | x, q): the compressor itself, or a model name
    estimator: str = "monte_carlo"  # tasks/mi/ ESTIMATORS
    other_contexts: PositiveInt = 31  # M: other contexts x_j in each sample's marginal
    clip: bool = False
    seed: int = 0

    @model_validator(mode="after")
    def _grid(self) -> "MiSweepConfig":
        from tasks.mi import ESTIMATORS
        from tasks.mi.datasets import DATASETS

        for field in ("datasets", "compressors", "predictors", "budgets"):
            if not getattr(self, field):
                raise ValueError(f"{field} is empty")
        for name in self.datasets:
            kind = name if name in DATASETS else "jsonl" if name in self.dataset_files else None
            if kind is None:
                known = ", ".join(DATASETS.names())
                raise ValueError(
                    f"datasets: unknown dataset {name!r} (known: {known}, or a name in dataset_files)"
                )
        try:
            ESTIMATORS.get(self.estimator)
        except InfopipeError as err:
            raise ValueError(f"estimator: {err.problem}") from None
        _known("prompt", self.prompt)
        _known("prompt", self.predictor_prompt)
        if self.other_contexts > self.contexts - 1:
            raise ValueError(
                f"other_contexts: M = {self.other_contexts} but there are only {self.contexts - 1} "
                "other contexts per sample (contexts - 1)"
            )
        return self


class DecodingSetting(SamplerSetting):
    """One sampler setting of the `decoding` grid; `models` narrows it to some of the grid's
    models (EAD needs a small model sharing the large one's tokenizer)."""

    models: list[str] = []


class ProseConfig(Strict):
    """Open-ended continuation of real prose (stage `corpus` chunks, Austen and Reuters)."""

    sources: list[str] = ["janeausten", "reuters"]
    prefixes: PositiveInt = 24  # per source
    prefix_words: PositiveInt = 32
    max_tokens: PositiveInt = 96
    models: list[str] = []  # of decoding.models; [] = all


class DecodingConfig(Strict):
    """Stage `decoding`: models x sampler settings on lm-eval benchmarks (world QA and a
    reasoning-style one) and on prose continuation (reference/algorithms.md Job 4)."""

    models: list[str] = ["smollm2-135m-instruct"]
    settings: list[DecodingSetting] = Field(default_factory=lambda: [DecodingSetting(name="greedy")])
    benchmarks: list[str] = ["world_qa", "arithmetic"]  # tasks/decoding/benchmarks.py
    questions: PositiveInt = 64  # per benchmark
    answer_tokens: PositiveInt = 24
    prose: ProseConfig = ProseConfig()
    judge: str = "smollm2-135m-instruct"  # scores prose continuations (perplexity)
    bootstrap: PositiveInt = 1000
    seed: int = 0

    @model_validator(mode="after")
    def _grid(self) -> "DecodingConfig":
        from tasks.decoding.benchmarks import BENCHMARKS

        for name in ("models", "settings"):
            if not getattr(self, name):
                raise ValueError(f"{name} is empty")
        labels = [(tuple(s.models), s.label) for s in self.settings]
        if len(set(labels)) != len(labels):
            raise ValueError("settings: two settings share a sampler, arguments and models")
        for i, s in enumerate(self.settings):
            stray = sorted(set(s.models) - set(self.models))
            if stray:
                raise ValueError(f"settings.{i}.models: {stray[0]!r} is not in decoding.models")
        stray = sorted(set(self.prose.models) - set(self.models))
        if stray:
            raise ValueError(f"prose.models: {stray[0]!r} is not in decoding.models")
        for b in self.benchmarks:
            try:
                BENCHMARKS.get(b)
            except InfopipeError as err:
                raise ValueError(f"benchmarks: {err.problem}") from None
        return self


class RlRunConfig(Strict):
    """Stage `rl_run`: a short GRPO run (TRL's trainer) with a verifiable reward on world QA from a
    family model, saving a checkpoint every `save_every` steps for stage `checkpoints`."""

    model: str = "world-l"  # the starting policy: a model of params.yaml with a local path
    kinds: list[str] = []  # single-hop question kinds trained on; [] = all
    prompts: PositiveInt = 512  # train-split questions (entities the evaluation never sees)
    reward: str = "exact_match"  # tasks/checkpoints/verifiers.py
    steps: PositiveInt = 60
    save_every: PositiveInt = 10
    prompts_per_step: PositiveInt = 8
    generations: Annotated[int, Field(ge=2)] = 8  # group size G: completions per prompt
    max_tokens: PositiveInt = 16
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    lr: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-4
    beta: Annotated[float, Field(ge=0.0)] = 0.0  # KL coefficient (the Entropy Mechanism recipe: 0)
    threads: PositiveInt | None = None  # torch threads; None = all cores
    seed: int = 0
    trl: dict[str, Any] = {}  # further trl.GRPOConfig arguments, checked by TRL

    @model_validator(mode="after")
    def _known(self) -> "RlRunConfig":
        from tasks.checkpoints.verifiers import VERIFIERS

        _known_kinds(self.kinds)
        if self.reward not in VERIFIERS:
            raise ValueError(
                f"reward: unknown verifier {self.reward!r} (known: {', '.join(VERIFIERS.names())})"
            )
        if self.save_every > self.steps:
            raise ValueError(f"save_every: {self.save_every} exceeds steps {self.steps}: no checkpoint")
        return self


class CheckpointRef(Strict):
    path: str  # an HF model directory
    step: Annotated[int, Field(ge=0)]


class CheckpointsConfig(Strict):
    """Stage `checkpoints`: policy entropy, accuracy, pass@k, high window-entropy share, EPR and
    response length of a checkpoint series, and the fit R = -a exp(H) + b across it
    (reference/algorithms.md 4.7, 4.8, 4.10)."""

    series: str | None = "data/rl_run/checkpoints"  # a directory of checkpoint folders
    checkpoints: list[CheckpointRef] = []  # or an explicit list (wins over series)
    like: str = "world-l"  # a model of params.yaml whose settings (dtype, lengths) the series shares
    dataset: str = "world"  # held-out world QA, or a JSONL file with prompt and answer per line
    kinds: list[str] = []  # world: single-hop question kinds; [] = all
    prompts: PositiveInt = 64
    samples: PositiveInt = 8  # rollouts per prompt at `temperature`
    pass_k: list[PositiveInt] = [1, 4, 8]
    verifier: str = "exact_match"  # tasks/checkpoints/verifiers.py
    max_tokens: PositiveInt = 16
    stop: list[str] = ["\n"]  # a world answer is one line
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    epr_top_k: PositiveInt = 10  # top-K log-probs behind the Entropy Production Rate
    hwe_window: PositiveInt = 4  # tokens in ARES' forward window
    hwe_percentile: Annotated[float, Field(gt=0.0, lt=100.0)] = 80.0  # of the first checkpoint's windows
    seed: int = 0

    @model_validator(mode="after")
    def _known(self) -> "CheckpointsConfig":
        from tasks.checkpoints.verifiers import VERIFIERS

        _known_kinds(self.kinds)
        if self.series is None and not self.checkpoints:
            raise ValueError("series: give a directory of checkpoints or a checkpoints list")
        if self.verifier not in VERIFIERS:
            raise ValueError(f"verifier: unknown {self.verifier!r} (known: {', '.join(VERIFIERS.names())})")
        too_big = [k for k in self.pass_k if k > self.samples]
        if too_big:
            raise ValueError(f"pass_k: {too_big[0]} exceeds samples {self.samples}")
        return self


JOBS = ("compression", "entigraph", "mi_sweep", "decoding", "checkpoints")  # the four kinds of job


class ReportConfig(Strict):
    """Stage `report`: reports/index.md and one self-contained HTML page over every job, linked to
    its MLflow run, and reports/regressions.md (each job against its last successful run)."""

    title: str = "infopipe report"
    jobs: list[str] = list(JOBS)
    mlflow_ui: str = "http://127.0.0.1:5000"  # where run links point (`make ui` serves there)

    @model_validator(mode="after")
    def _known_jobs(self) -> "ReportConfig":
        unknown = [j for j in self.jobs if j not in JOBS]
        if unknown:
            raise ValueError(f"jobs: unknown job {unknown[0]!r} (known: {', '.join(JOBS)})")
        return self


class RunnerConfig(Strict):
    """Where fan-out tasks (sweep cells, checkpoints) run: Prefect's thread pool in this process, or
    Ray through prefect-ray (a local instance, or a cluster at `address`)."""

    kind: Literal["threads", "ray"] = "threads"
    workers: PositiveInt = 1  # concurrent tasks (threads) or CPUs of a local Ray instance
    address: str | None = None  # e.g. "ray://head:10001"; None starts a local Ray instance
    gpus_per_task: Annotated[float, Field(ge=0.0)] = 0.0  # Ray resource request of one task


def _known_kinds(kinds: list[str]) -> None:
    from tasks.models.formats import SINGLE_HOP

    unknown = sorted(set(kinds) - set(SINGLE_HOP))
    if unknown:
        raise ValueError(f"kinds: unknown question kind {unknown[0]!r} (known: {', '.join(SINGLE_HOP)})")


BLOCKS = ("answer", "notes", "entities", "relation", "keep")  # prompts of tasks/prompts/ after a document


class TrainingConfig(Strict):
    """How the `models` stage trains the models with a `train` recipe: shared by the family."""

    seed: int = 0
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


class Params(Strict):
    profile: str = "cpu"
    models: dict[str, ModelSpec]
    engine: EngineConfig = EngineConfig()
    world: WorldConfig = WorldConfig()
    corpus: CorpusConfig = CorpusConfig()
    training: TrainingConfig = TrainingConfig()
    compression: CompressionConfig = Field(default_factory=CompressionConfig)
    entigraph: EntigraphConfig = Field(default_factory=EntigraphConfig)
    mi_sweep: MiSweepConfig = Field(default_factory=MiSweepConfig)
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    rl_run: RlRunConfig = Field(default_factory=RlRunConfig)
    checkpoints: CheckpointsConfig = Field(default_factory=CheckpointsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    runner: RunnerConfig = RunnerConfig()
    generate: GenerateConfig
    bench: BenchConfig

    @model_validator(mode="after")
    def _cross_checks(self) -> "Params":
        named = [
            ("generate.model", self.generate.model),
            ("bench.engine.model", self.bench.engine.model),
            ("compression.scorer", self.compression.scorer),
            ("compression.classifier.base", self.compression.classifier.base),
            ("compression.evaluation.predictor", self.compression.evaluation.predictor),
            *((f"compression.teachers.{i}.model", t.model) for i, t in enumerate(self.compression.teachers)),
            ("entigraph.entities.model", self.entigraph.entities.model),
            *(("entigraph.entities.family_model", m) for m in [self.entigraph.entities.family_model] if m),
            ("entigraph.relations.model", self.entigraph.relations.model),
            ("entigraph.cpt.base", self.entigraph.cpt.base),
            *((f"mi_sweep.compressors.{i}", m) for i, m in enumerate(self.mi_sweep.compressors)),
            *((f"mi_sweep.predictors.{i}", m) for i, m in enumerate(self.mi_sweep.predictors)),
            *(("mi_sweep.scorer", m) for m in [self.mi_sweep.scorer] if m != "compressor"),
            *(("bench.mi.model", b.model) for b in [self.bench.mi] if b),
            *(("bench.decoding.model", b.model) for b in [self.bench.decoding] if b),
            *((f"decoding.models.{i}", m) for i, m in enumerate(self.decoding.models)),
            ("decoding.judge", self.decoding.judge),
            ("rl_run.model", self.rl_run.model),
            ("checkpoints.like", self.checkpoints.like),
            *(
                (f"decoding.settings.{i}.args.large", s.args["large"])
                for i, s in enumerate(self.decoding.settings)
                if "large" in s.args
            ),
        ]
        for where, name in named:
            if name not in self.models:
                known = ", ".join(sorted(self.models))
                raise ValueError(f"{where}: unknown model {name!r} (known: {known})")
        if self.generate.sampling.logprobs > self.engine.max_logprobs:
            raise ValueError(
                f"generate.sampling.logprobs: {self.generate.sampling.logprobs} exceeds "
                f"engine.max_logprobs {self.engine.max_logprobs}"
            )
        return self


def load_params(path: Path | str = "params.yaml", overrides: list[str] | tuple[str, ...] = ()) -> Params:
    """Read, override (`section.key=value`, values parsed as YAML like `dvc exp run -S`), validate."""
    from tasks.io import read_text

    path = Path(path)
    try:
        raw = yaml.safe_load(read_text(path))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise InfopipeError(str(path), f"invalid YAML{line}") from None
    if not isinstance(raw, dict):
        raise InfopipeError(str(path), "expected a mapping of sections")
    for item in overrides:
        _apply_override(raw, item)
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise InfopipeError(str(path), _one_line(err)) from None


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise InfopipeError("-S", f"expected section.key=value, got {item!r}")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InfopipeError("-S", f"{key}: {part} is not a section")
        node = child
    node[leaf] = yaml.safe_load(value) if value else ""


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    messages = {"extra_forbidden": "unknown key", "missing": "required key is missing"}
    problem = messages.get(first["type"], first["msg"].removeprefix("Value error, "))
    if first["type"] not in messages and first["type"] != "value_error":
        problem += f" (got {first['input']!r:.60})"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {problem}{more}" if where else f"{problem}{more}"


def config_hash(*parts: BaseModel) -> str:
    """A short stable hash of configs, stored in every row a task writes."""
    blob = json.dumps([p.model_dump(mode="json") for p in parts], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: how configs become MLflow params."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
