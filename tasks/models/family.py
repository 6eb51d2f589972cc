"""The self-trained family: its shared tokenizer and one model per `train` recipe of params.yaml."""

import dataclasses
import itertools
import json
import zlib
from pathlib import Path
from typing import Any

import polars as pl

from tasks import prompts
from tasks.config import ModelSpec, config_hash
from tasks.engines import close_engines, open_engine
from tasks.hf import builder, loader
from tasks.io import atomic_path, write_json
from tasks.models.config import BLOCKS, ModelsParams, TrainingConfig
from tasks.models.curve import reading
from tasks.models.evaluate import evaluate, summarize
from tasks.models.formats import Probe
from tasks.models.train import Curriculum, Trained, fresh_samples, train
from tasks.world.document import Document

PROMPTS = ("document", *BLOCKS)


def heldout_names(world: dict[str, pl.DataFrame]) -> set[str]:
    """Names of the world's held-out entities: training never draws them."""
    heldout = world["documents"].filter(pl.col("split") == "heldout")["doc_id"]
    return set(world["entities"].filter(pl.col("doc_id").is_in(heldout.implode()))["name"].to_list())


def trained_models(params: ModelsParams) -> dict[str, ModelSpec]:
    return {name: spec for name, spec in params.models.items() if spec.train}


def build_tokenizer(params: ModelsParams, exclude: set[str]) -> Path:
    """Byte-level BPE learned from fresh training samples (every phase's share), saved at
    training.tokenizer."""
    config = params.training
    texts = [
        "".join(text for text, _ in segments)
        for i, phase in enumerate(config.phases)
        for segments in itertools.islice(
            fresh_samples(params.world, phase, f"{config.seed}/tokenizer/{i}", exclude),
            max(1, round(config.tokenizer_documents * phase.share)),
        )
    ]
    max_len = max((s.max_model_len for s in trained_models(params).values()), default=512)
    out = Path(config.tokenizer)
    with atomic_path(out) as tmp:
        builder.train_tokenizer(texts, config.vocab_size, tmp, max_len)
    return out


def member_seed(training: TrainingConfig, name: str) -> int:
    """A member's seed: training.seed plus a number from its name, so that adding or removing a
    member leaves the others' data and initialisation as they were."""
    return training.seed + zlib.crc32(name.encode()) % 1_000_003


def member_settings(params: ModelsParams, name: str) -> str:
    """The hash of everything of params that shapes member `name`'s weights."""
    return config_hash(params.models[name], params.training, params.world)


def train_member(
    name: str,
    params: ModelsParams,
    exclude: set[str],
    on_log: Any = None,
    probes: list[Probe] | None = None,
    made: str = "",
) -> Trained:
    """Train the family model `name` into its path; held-out `probes` are read at each checkpoint.

    With `made` (the settings, code and library versions that train it), a model already in its
    path that was made the same way is kept, not trained again: a nightly run outside DVC, or a
    rerun after a kill, retrains only what changed. Its curve is replayed through `on_log`."""
    spec = params.models[name]
    assert spec.train and spec.path  # guaranteed by ModelSpec validation
    if made and (kept := saved(Path(spec.path), made)) is not None:
        for point in kept.curve:
            (on_log or (lambda _: None))(point)
        return kept
    tokenizer = loader.load_plain_tokenizer(Path(params.training.tokenizer))
    seed = member_seed(params.training, name)
    result = train(
        spec.train,
        params.training,
        tokenizer,
        Curriculum(params.world, params.training, seed, exclude),
        Path(spec.path),
        spec.max_model_len,
        seed,
        on_log or (lambda _: None),
        (lambda _, model: reading(model, tokenizer, probes)) if probes else None,
    )
    if made:
        write_json(Path(spec.path) / MADE, {"made_by": made, "trained": _encode(result)})
    return result


MADE = "trained.json"  # beside the weights: how they were made, and what training measured


def saved(path: Path, made: str) -> Trained | None:
    """The training record of the model in `path`, if it was made as `made` and is whole."""
    try:
        record = json.loads((path / MADE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("made_by") != made or not (path / "config.json").is_file():
        return None
    trained = record["trained"]
    checkpoints = [(int(step), Path(where)) for step, where in trained.pop("checkpoints")]
    if not all(where.is_dir() for _, where in checkpoints):
        return None
    return Trained(**trained, checkpoints=checkpoints)


def _encode(result: Trained) -> dict[str, Any]:
    record = dataclasses.asdict(result)
    record["checkpoints"] = [[step, str(where)] for step, where in result.checkpoints]
    return record


def score_member(params: ModelsParams, name: str, docs: list[Document]) -> pl.DataFrame:
    """Held-out scores of one family model, through params.engine's backend."""
    engine = open_engine(params, name)
    try:
        tag = config_hash(params.models[name], params.training, params.world)
        return evaluate(engine, name, docs, params.training.seed, tag)
    finally:
        close_engines()


HEADLINE = (
    "single_hop_accuracy",
    "no_context_accuracy",
    "multi_hop_accuracy",
    "name_accuracy",
    "notes_answer_rate",
    "keep_variation_rate",
    "keep_answer_retention",
    "entity_recall",
)


def family_metrics(trained: dict[str, Trained], scores: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """reports/models/metrics.json: each headline a map from model name to a value."""
    summaries = {name: summarize(frame) for name, frame in scores.items()}
    questions = {int(s["eval_questions"]) for s in summaries.values()}
    return {
        **{key: {name: s[key] for name, s in summaries.items()} for key in HEADLINE},
        "eval_questions": min(questions) if questions else 0,
        "parameters": {name: t.parameters for name, t in trained.items()},
        "train_steps": {name: t.steps for name, t in trained.items()},
        "train_tokens": {name: t.tokens for name, t in trained.items()},
        "train_seconds": {name: t.seconds for name, t in trained.items()},
        "final_loss": {name: t.curve[-1]["loss"] for name, t in trained.items()},
        "checkpoints": {name: [step for step, _ in t.checkpoints] for name, t in trained.items()},
        "roles": summaries,
        "prompts": {name: prompts.load(name).tag for name in PROMPTS},
    }
