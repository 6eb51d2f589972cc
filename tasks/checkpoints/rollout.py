"""Rollouts of one checkpoint: every prompt sampled `samples` times at the configured temperature,
each token's full-vocabulary entropy either returned by the sampling engine or computed by one
teacher-forced pass of the hf engine over the completions (`entropy_from`), each completion
checked by the verifier. One row per completion."""

from dataclasses import replace
from typing import Any, TypeVar

import polars as pl

from tasks import answers
from tasks.checkpoints import metrics
from tasks.checkpoints.config import CheckpointsConfig
from tasks.checkpoints.prompts import Item
from tasks.checkpoints.series import Checkpoint, vocab_size
from tasks.checkpoints.verifiers import VERIFIERS
from tasks.config import EngineParams
from tasks.engines import Engine, close_engines, open_engine
from tasks.parts import PartStore
from tasks.samplers import SamplingConfig

P = TypeVar("P", bound=EngineParams)

SCHEMA: dict[str, Any] = {
    "step": pl.Int64,
    "item_id": pl.String,
    "sample": pl.Int64,
    "answer": pl.String,
    "text": pl.String,
    "reward": pl.Float64,  # the verifier's
    "exact_match": pl.Float64,  # beside a graded verifier: was the answer exactly right
    "tokens": pl.Int64,
    "token_ids": pl.List(pl.Int64),
    "entropy": pl.List(pl.Float64),  # nats per token, full vocabulary
    "tail_mass": pl.List(pl.Float64),  # probability outside the log-probs behind `entropy` (0: exact)
    "logprobs": pl.List(pl.Float64),  # log pi of each sampled token
    "epr": pl.Float64,
}


def sampling(config: CheckpointsConfig, entropy: bool = True) -> SamplingConfig:
    return SamplingConfig(
        max_tokens=config.max_tokens,
        temperature=config.temperature,
        stop=config.stop,
        logprobs=config.epr_top_k,
        entropy=entropy,
    )


def rollouts(
    engine: Engine, items: list[Item], config: CheckpointsConfig, step: int, scorer: Engine | None = None
) -> pl.DataFrame:
    """The rollout table; with `scorer`, entropies come from its pass over the completions."""
    verify = VERIFIERS.get(config.verifier)
    prompts = [item.prompt for item in items for _ in range(config.samples)]
    seeds = [config.seed + i for i in range(len(prompts))]  # the same draws for every checkpoint
    gens = engine.generate(prompts, sampling(config, entropy=scorer is None), seeds=seeds)
    if scorer is not None:
        computed = scorer.entropy_ids([g.prompt_ids for g in gens], [list(g.token_ids) for g in gens])
        gens = [replace(g, entropy=h, tail_mass=[0.0] * len(h)) for g, h in zip(gens, computed, strict=True)]
    rows = []
    for i, g in enumerate(gens):
        item = items[i // config.samples]
        rows.append(
            {
                "step": step,
                "item_id": item.item_id,
                "sample": i % config.samples,
                "answer": item.answer,
                "text": g.text,
                "reward": float(verify(g.text, item.answer)),
                "exact_match": answers.exact_match(g.text, item.answer),
                "tokens": len(g.token_ids),
                "token_ids": list(g.token_ids),
                "entropy": list(g.entropy or []),
                "tail_mass": list(g.tail_mass or []),
                "logprobs": list(g.logprobs),
                "epr": metrics.epr(g.top_logprobs, config.epr_top_k),
            }
        )
    return pl.DataFrame(rows, schema=SCHEMA)


def checkpoint_params(params: P, checkpoint: Checkpoint, like: str) -> tuple[P, str]:
    """`params` with the checkpoint as model `checkpoint-<step>` (the settings of model `like`:
    dtype, lengths) and an engine that keeps every log-prob (exact full-vocabulary entropy)."""
    name = f"checkpoint-{checkpoint.step}"
    cleared: dict[str, Any] = {
        "hf_id": None,
        "package": None,
        "revision": None,
        "train": None,
        "build": None,
        "roles": [],
    }
    spec = params.models[like].model_copy(update={"path": str(checkpoint.path), **cleared})
    full = max(vocab_size(checkpoint), params.engine.max_logprobs)
    scoped = params.model_copy(
        update={
            "models": {**params.models, name: spec},
            "engine": params.engine.model_copy(update={"max_logprobs": full}),
        }
    )
    return scoped, name


def evaluate(params: P, checkpoint: Checkpoint, items: list[Item], config: CheckpointsConfig) -> pl.DataFrame:
    """One checkpoint's rollouts: sampled by the configured engine, entropies from the hf
    engine's logits or from an engine that keeps every log-prob (`entropy_from`)."""
    scoped, name = checkpoint_params(params, checkpoint, config.like)
    scorer = open_engine(scoped, name, "hf") if config.entropy_from == "hf" else None
    try:
        return rollouts(open_engine(scoped, name), items, config, checkpoint.step, scorer)
    finally:
        if scorer is not None:
            close_engines("hf")  # one checkpoint's scorer at a time


def evaluate_part(
    params: P,
    checkpoint: Checkpoint,
    items: list[Item],
    config: CheckpointsConfig,
    store: PartStore,
    key: str,
) -> None:
    """One checkpoint's rollouts, written as its part."""
    store.write(key, evaluate(params, checkpoint, items, config))
