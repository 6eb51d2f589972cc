"""`infopipe bench decoding`: generation throughput of each sampler running as our vLLM logits
processor, relative to vLLM's built-in top-p (goal: every processor >= 0.7x).

One engine (the processor is registered for every request; requests without a sampler skip it),
`prompts` chat prompts x `max_tokens` tokens (EOS held back, so every run makes the same number
of tokens); the fastest of `repeats` runs, settings interleaved so drift hits all alike. The
samplers are the first setting of each name in decoding.settings (EAD is a two-model loop, not a
processor, and is left out)."""

import time
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.engines import open_engine
from tasks.errors import InfopipeError
from tasks.params import Params
from tasks.samplers import SamplingConfig, build
from tasks.tracking import hardware, library_versions


@BENCHMARKS.register("decoding")
def decoding_bench(params: Params) -> dict[str, Any]:
    bench = params.bench.decoding
    if bench is None:
        raise InfopipeError("bench.decoding", "is not set in params.yaml (model, prompts, max_tokens)")
    engine = open_engine(params, bench.model)
    texts = params.generate.prompts or ["Write a short story."]
    ids = engine.encode_prompts(
        [texts[i % len(texts)] for i in range(bench.prompts)], bench.max_tokens, "error"
    )
    common = {"max_tokens": bench.max_tokens, "ignore_eos": True, "logprobs": 0, "entropy": False}
    runs: dict[str, SamplingConfig] = {
        "builtin_top_p": SamplingConfig(temperature=1.0, top_p=bench.top_p, **common)
    }
    seen = set()
    for setting in params.decoding.settings:
        if setting.name in seen or build(setting).models():  # a decode loop of its own, no processor
            continue
        seen.add(setting.name)
        runs[setting.label] = SamplingConfig(sampler=setting, **common)
    seconds: dict[str, float] = {name: float("inf") for name in runs}
    for _ in range(bench.repeats):
        for name, sampling in runs.items():
            start = time.perf_counter()
            engine.generate_ids(ids, sampling)
            seconds[name] = min(seconds[name], time.perf_counter() - start)
    tokens = bench.prompts * bench.max_tokens
    throughput = {name: tokens / s for name, s in seconds.items()}
    base = throughput.pop("builtin_top_p")
    ratios = {name: t / base for name, t in throughput.items()}
    return {
        "processor_vs_builtin_top_p": ratios,
        "goal": 0.7,
        "all_meet_goal": all(r >= 0.7 for r in ratios.values()),
        "tokens_per_second": {"builtin_top_p": base, **throughput},
        "tokens_per_run": tokens,
        "prompts": bench.prompts,
        "max_tokens": bench.max_tokens,
        "repeats": bench.repeats,
        "model": bench.model,
        "engine": params.engine.backend,
        "hardware": hardware(),
        **library_versions(),
    }
