"""Step 2: the compressor writes question-focused notes Z for each context X and question Q.

MI needs stochastic compressions (at temperature 0, Z is a function of (X, Q) and the estimate
is the entropy of Z, not information about X): sampling at `temperature` > 0, `samples` per
context, one stable seed per request so that a resumed run draws the same notes.
"""

import zlib
from collections.abc import Sequence

import polars as pl

from tasks import prompts
from tasks.engines import Engine
from tasks.mi.config import MiSweepConfig
from tasks.mi.datasets import Item
from tasks.samplers import SamplingConfig

SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "item_id": pl.String,
        "sample": pl.Int32,
        "seed": pl.Int64,
        "notes": pl.String,
        "token_ids": pl.List(pl.Int64),  # as sampled, the stop token included
        "tokens": pl.Int32,
        "prompt_tokens": pl.Int32,
        "finish_reason": pl.String,
        "prompt_version": pl.String,
    }
)


def sampling(config: MiSweepConfig, budget: int) -> SamplingConfig:
    return SamplingConfig(
        max_tokens=budget, temperature=config.temperature, top_p=config.top_p, logprobs=0, entropy=False
    )


def request_seed(base: int, item_id: str, sample: int) -> int:
    return (base + zlib.crc32(f"{item_id}\x1f{sample}".encode())) % 2**31


def compress(engine: Engine, items: Sequence[Item], budget: int, config: MiSweepConfig) -> pl.DataFrame:
    """`config.samples` notes per item, at most `budget` tokens each, in one engine batch."""
    prompt = prompts.load(config.prompt)
    keys = [(item, s) for item in items for s in range(config.samples)]
    seeds = [request_seed(config.seed, item.item_id, s) for item, s in keys]
    texts = [prompt.render(document=item.context, question=item.question) for item, _ in keys]
    out = engine.generate(texts, sampling(config, budget), "error", seeds=seeds)
    rows = [
        {
            "item_id": item.item_id,
            "sample": s,
            "seed": seed,
            "notes": g.text,
            "token_ids": g.token_ids,
            "tokens": len(g.token_ids),
            "prompt_tokens": len(g.prompt_ids),
            "finish_reason": g.finish_reason,
            "prompt_version": prompt.tag,
        }
        for (item, s), seed, g in zip(keys, seeds, out, strict=True)
    ]
    return pl.DataFrame(rows, schema=SCHEMA)
