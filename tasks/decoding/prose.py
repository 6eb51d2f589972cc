"""Open-ended continuation: prefixes of held-out world documents (stage `world`) or of the `corpus`
stage's Austen and Reuters chunks, continued by a track's model under a sampler, then scored by
the track's judge.

Prompts are raw text (no chat template): the model continues the prose. Every continuation runs
to `max_tokens` (EOS held back) so repetition and diversity compare texts of one length."""

from typing import Any

import polars as pl

from tasks.decoding.config import ProseTrack
from tasks.engines import Engine
from tasks.samplers import SamplerSetting, SamplingConfig
from tasks.samplers.base import LN2

PROSE_SCHEMA: dict[str, Any] = {
    "prefix_id": pl.String,
    "source": pl.String,
    "prefix": pl.String,
    "text": pl.String,
    "token_ids": pl.List(pl.Int64),
    "surprisal": pl.List(pl.Float64),  # bits per token under the generating model (raw)
    "entropy": pl.List(pl.Float64),  # bits per step (vLLM: top-k coarse-grained lower bound)
}


TEXTS_SCHEMA = {"chunk_id": pl.String, "source": pl.String, "text": pl.String}
PREFIX_SCHEMA = {"prefix_id": pl.String, "source": pl.String, "prefix": pl.String}


def prefixes(track: ProseTrack, prefix_words: int, texts: pl.DataFrame) -> pl.DataFrame:
    """`track.prefixes` texts per source, evenly spaced, cut to their first `prefix_words` words;
    `texts` has chunk_id, source and text (corpus chunks, world documents)."""
    rows = []
    for source in track.sources:
        pool = texts.filter(pl.col("source") == source).sort("chunk_id")
        if pool.is_empty():
            continue
        step = max(1, pool.height // track.prefixes)
        for row in pool[::step].head(track.prefixes).iter_rows(named=True):
            words = row["text"].split()[:prefix_words]
            rows.append({"prefix_id": row["chunk_id"], "source": source, "prefix": " ".join(words)})
    return pl.DataFrame(rows, schema=PREFIX_SCHEMA)


def continue_prose(
    engine: Engine, prompts: pl.DataFrame, setting: SamplerSetting, max_tokens: int, seed: int
) -> pl.DataFrame:
    ids = [engine.tokenizer(p)["input_ids"] for p in prompts["prefix"]]
    sampling = SamplingConfig(
        max_tokens=max_tokens, logprobs=0, entropy=True, ignore_eos=True, sampler=setting
    )
    gens = engine.generate_ids(ids, sampling, [seed + i for i in range(len(ids))])
    return pl.DataFrame(
        {
            **prompts.to_dict(),
            "text": [g.text for g in gens],
            "token_ids": [g.token_ids for g in gens],
            "surprisal": [[-lp / LN2 for lp in g.logprobs] for g in gens],
            "entropy": [[h / LN2 for h in g.entropy or []] for g in gens],
        },
        schema=PROSE_SCHEMA,
    )


def judge(judge: Engine, prose: pl.DataFrame) -> pl.DataFrame:
    """`prose` with the judge's surprisal of each continuation given its prefix: total bits and
    tokens (perplexity is 2 to the bits per token over a setting's continuations)."""
    ctx = [judge.tokenizer(p)["input_ids"] for p in prose["prefix"]]
    cont = [
        judge.tokenizer(t, add_special_tokens=False)["input_ids"] or [judge.tokenizer.eos_token_id]
        for t in prose["text"]
    ]
    scores = judge.score_ids(ctx, cont)
    return prose.with_columns(
        judge_bits=pl.Series([-sum(s) / LN2 for s in scores], dtype=pl.Float64),
        judge_tokens=pl.Series([len(s) for s in scores], dtype=pl.Int64),
    )
