"""`infopipe bench engine`: our engine's tokens/s against raw `vllm.LLM.generate`, and vllm vs hf.

All runs use the same model, the same tokenized prompts and fixed-length greedy outputs
(ignore_eos), after one warm-up call each; the figure of each is the median of `repeats`.
"""

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.engines import close_engines, open_engine
from tasks.generate.generation import read_prompts
from tasks.params import Params
from tasks.samplers import SamplingConfig
from tasks.tracking import hardware, library_versions


def _prompts(params: Params, n: int) -> list[str]:
    base = read_prompts(params.generate)
    # Distinct texts, so prefix caching cannot serve one prompt from another.
    return [f"{base[i % len(base)]} (#{i})" for i in range(n)]


def _tokens_per_second(runs: dict[str, Callable[[], Any]], tokens: int, repeats: int) -> dict[str, float]:
    """Median tokens/s of each run; repeats interleave the runs, so drift hits all alike."""
    for run in runs.values():
        run()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            rates[name].append(tokens / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


@BENCHMARKS.register("engine")
def engine_bench(params: Params) -> dict[str, Any]:
    config = params.bench.engine
    prompts = _prompts(params, config.num_prompts)
    plain = SamplingConfig(
        max_tokens=config.max_tokens, min_tokens=config.max_tokens, ignore_eos=True, logprobs=0, entropy=False
    )
    full = plain.model_copy(update={"logprobs": 5, "entropy": True})
    tokens = config.num_prompts * config.max_tokens
    rates: dict[str, float] = {}
    for backend in config.backends:
        engine = open_engine(params, config.model, backend)
        ids = engine.encode_prompts(prompts, config.max_tokens, "error")
        runs: dict[str, Callable[[], Any]] = {
            backend: partial(engine.generate_ids, ids, plain),
            f"{backend}_with_logprobs_entropy": partial(engine.generate_ids, ids, full),
        }
        raw = getattr(engine, "raw_generate_seconds", None)
        if raw is not None:  # the same inputs through plain `vllm.LLM.generate`
            runs[f"raw_{backend}"] = partial(raw, ids, config.max_tokens)
        rates |= _tokens_per_second(runs, tokens, config.repeats)
        close_engines(backend)
    figures: dict[str, Any] = {
        "tokens_per_second": rates,
        "setup": {
            "model": config.model,
            "prompts": config.num_prompts,
            "new_tokens": config.max_tokens,
            "repeats": config.repeats,
            "hardware": hardware(),
            **library_versions(),
        },
    }
    if "vllm" in rates and "raw_vllm" in rates:
        figures["engine_vs_raw_vllm"] = rates["vllm"] / rates["raw_vllm"]
        figures["engine_with_logprobs_entropy_vs_raw_vllm"] = (
            rates["vllm_with_logprobs_entropy"] / rates["raw_vllm"]
        )
    if "vllm" in rates and "hf" in rates:
        figures["vllm_vs_hf"] = rates["vllm"] / rates["hf"]
    return figures
