"""The `generate` job's logic: prompts in, a table of completions with log-probs and entropy out."""

import json
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean

import polars as pl

from tasks.engines import Engine, Generation
from tasks.errors import InfopipeError
from tasks.generate.config import GenerateConfig
from tasks.io import read_text
from tasks.stats import mean_with_ci

SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "prompt_id": pl.Int32,
        "prompt": pl.String,
        "text": pl.String,
        "prompt_tokens": pl.Int32,
        "new_tokens": pl.Int32,
        "token_ids": pl.List(pl.Int32),
        "mean_logprob": pl.Float64,
        "mean_entropy": pl.Float64,
        "mean_tail_mass": pl.Float64,
        "finish_reason": pl.String,
        "model": pl.String,
        "engine": pl.String,
        "config_hash": pl.String,
    }
)


def read_prompts(config: GenerateConfig) -> list[str]:
    """The prompt set: inline in params, or a UTF-8 .txt (one a line) or .jsonl ("prompt") file."""
    if config.prompts is not None:
        return list(config.prompts)
    path = Path(config.prompts_file or "")
    lines = read_text(path).splitlines()
    if path.suffix == ".jsonl":
        prompts = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                prompts.append(str(json.loads(line)["prompt"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InfopipeError(
                    f"{path}:{number}", 'expected a JSON object with a "prompt" field'
                ) from None
    else:
        prompts = [line for line in lines if line.strip()]
    if not prompts:
        raise InfopipeError(str(path), "no prompts in file")
    return prompts


def _mean(values: Sequence[float] | None) -> float | None:
    return fmean(values) if values else None


def generation_table(
    prompts: Sequence[str], generations: Sequence[Generation], *, model: str, engine: str, config_hash: str
) -> pl.DataFrame:
    rows = [
        {
            "prompt_id": i,
            "prompt": prompt,
            "text": g.text,
            "prompt_tokens": len(g.prompt_ids),
            "new_tokens": len(g.token_ids),
            "token_ids": g.token_ids,
            "mean_logprob": _mean(g.logprobs),
            "mean_entropy": _mean(g.entropy),
            "mean_tail_mass": _mean(g.tail_mass),
            "finish_reason": g.finish_reason,
            "model": model,
            "engine": engine,
            "config_hash": config_hash,
        }
        for i, (prompt, g) in enumerate(zip(prompts, generations, strict=True))
    ]
    return pl.DataFrame(rows, schema=SCHEMA)


def summarize(table: pl.DataFrame, seconds: float) -> dict[str, float]:
    new_tokens = int(table["new_tokens"].sum())
    metrics: dict[str, float] = {
        "prompts": float(table.height),
        "new_tokens_mean": fmean(table["new_tokens"].to_list()),
        "tokens_per_second": new_tokens / seconds if seconds > 0 else 0.0,
        **mean_with_ci("mean_logprob", table["mean_logprob"].drop_nulls().to_list()),
    }
    if table["mean_entropy"].null_count() < table.height:
        metrics |= mean_with_ci("mean_entropy", table["mean_entropy"].drop_nulls().to_list())
        metrics["mean_tail_mass"] = fmean(table["mean_tail_mass"].drop_nulls().to_list())
    return metrics


def entropy_by_position(generations: Sequence[Generation]) -> list[dict[str, float]]:
    """Mean next-token entropy at each generated position (DVC plot data)."""
    columns: dict[int, list[float]] = {}
    for g in generations:
        for position, h in enumerate(g.entropy or []):
            columns.setdefault(position, []).append(h)
    return [{"position": p, "entropy": fmean(hs)} for p, hs in sorted(columns.items())]


def generate_timed(
    engine: Engine, prompts: Sequence[str], config: GenerateConfig
) -> tuple[list[Generation], float]:
    start = time.perf_counter()
    generations = engine.generate(prompts, config.sampling, config.truncation)
    return generations, time.perf_counter() - start
