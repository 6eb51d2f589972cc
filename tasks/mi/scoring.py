"""The log-likelihoods behind every estimator, through `engine.score`.

For sample i (context x_i, question q_i, compression z_i) and each context j in {i} + J(i), the
scorer teacher-forces z_i after the compressor's prompt built from (x_j, q_i). All N x (M + 1)
requests go to the engine as one batch, ordered by prompt, so a backend with prefix caching
(vLLM) computes each distinct prompt prefix once rather than once per pair.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from tasks import prompts
from tasks.engines import Engine
from tasks.errors import InfopipeError
from tasks.mi.base import LogLikelihoods, other_contexts
from tasks.mi.config import MiSweepConfig
from tasks.mi.datasets import Item


@dataclass(frozen=True)
class Sample:
    context: str  # x
    question: str  # q
    compression: str  # z, as the compressor wrote it
    # The compressor's sampled token ids (its stop token included): scored as they are when the
    # scorer is the compressor, so log p(z | x, q) is the probability of the very sample drawn.
    token_ids: tuple[int, ...] = ()


def log_likelihoods(
    engine: Engine,
    samples: Sequence[Sample],
    contexts: Sequence[Sequence[int]],
    prompt: str = "notes",
    sampled_ids: bool = False,
) -> LogLikelihoods:
    """log p(z_i | x_j, q_i) for j = i and for the other contexts `contexts[i]` (indices of
    samples whose context is used). `sampled_ids`: score each sample's `token_ids` (the scorer
    is the compressor), else the text as the scorer tokenizes it."""
    template = prompts.load(prompt)
    z_ids = [
        list(s.token_ids)
        if sampled_ids
        else engine.tokenizer(s.compression, add_special_tokens=False)["input_ids"]
        for s in samples
    ]
    for i, ids in enumerate(z_ids):
        if not ids:
            raise InfopipeError(f"compression {i}", "has zero tokens: its log-likelihood is undefined")
    pairs = [(i, j) for i in range(len(samples)) for j in [i, *contexts[i]]]
    texts = {
        (i, j): template.render(document=samples[j].context, question=samples[i].question) for i, j in pairs
    }
    order = sorted(pairs, key=lambda p: (texts[p], p))
    scores = engine.score([texts[p] for p in order], [z_ids[p[0]] for p in order])
    total = {p: sum(s) for p, s in zip(order, scores, strict=True)}
    return LogLikelihoods(
        own=[total[(i, i)] for i in range(len(samples))],
        others=[[total[(i, j)] for j in contexts[i]] for i in range(len(samples))],
        tokens=[len(ids) for ids in z_ids],
    )


LL_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "item_id": pl.String,
        "sample": pl.Int32,
        "own": pl.Float64,
        "others": pl.List(pl.Float64),
        "tokens": pl.Int32,
    }
)


def score_notes(
    engine: Engine,
    items: Sequence[Item],
    notes: pl.DataFrame,
    config: MiSweepConfig,
    sampled_ids: bool,
) -> pl.DataFrame:
    """log p(z | x_j, q) of every compression row under its own and M other contexts (drawn once
    per context with `config.seed`, the same for all samples of a context)."""
    index = {item.item_id: k for k, item in enumerate(items)}
    rows = sorted(
        notes.select("item_id", "sample", "notes", "token_ids").rows(), key=lambda r: (index[r[0]], r[1])
    )
    first: dict[str, int] = {}  # a context's first row: where the other samples read x_j from
    for k, (item_id, _, _, _) in enumerate(rows):
        first.setdefault(item_id, k)
    others = other_contexts(len(items), config.other_contexts, config.seed)
    samples = [
        Sample(items[index[i]].context, items[index[i]].question, z, tuple(ids)) for i, _, z, ids in rows
    ]
    contexts = [[first[items[j].item_id] for j in others[index[i]]] for i, _, _, _ in rows]
    data = log_likelihoods(engine, samples, contexts, config.prompt, sampled_ids)
    return pl.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "sample": [r[1] for r in rows],
            "own": data.own,
            "others": data.others,
            "tokens": data.tokens,
        },
        schema=LL_SCHEMA,
    )


def as_log_likelihoods(frame: pl.DataFrame) -> LogLikelihoods:
    return LogLikelihoods(
        own=frame["own"].to_list(), others=frame["others"].to_list(), tokens=frame["tokens"].to_list()
    )
