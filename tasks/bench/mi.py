"""`infopipe bench mi`: wall time of the N x N log-likelihoods behind the MI estimate (every
sample's notes under every context) with vLLM's prefix caching against without (goal >= 3x).

Inputs: the first N contexts of the sweep's first dataset with their gold notes as the
compressions (no generation before timing), scored by `bench.mi.model` through `engine.score`;
the two engines differ only in `engine.prefix_caching`. The values are checked equal."""

import time
from typing import Any

from tasks import prompts
from tasks.bench.registry import BENCHMARKS
from tasks.engines import close_engines, open_engine
from tasks.errors import InfopipeError
from tasks.mi import datasets
from tasks.mi.scoring import Sample, log_likelihoods
from tasks.params import Params
from tasks.tracking import hardware, library_versions


def _requests(engine: Any, samples: list[Sample], contexts: list[list[int]], prompt: str) -> list[list[int]]:
    """The token ids the scorer sends, in its order (tasks/mi/scoring.py: sorted by prompt)."""
    template = prompts.load(prompt)
    texts = sorted(
        (template.render(document=samples[j].context, question=samples[i].question), i)
        for i in range(len(samples))
        for j in [i, *contexts[i]]
    )
    ids = engine.encode_prompts([t for t, _ in texts], 0, "error")
    z = [engine.tokenizer(s.compression, add_special_tokens=False)["input_ids"] for s in samples]
    return [p + z[i] for p, (_, i) in zip(ids, texts, strict=True)]


def reused_tokens(prompts: list[list[int]], block: int) -> int:
    """Prompt tokens a block prefix cache serves from earlier requests, in request order: whole
    blocks whose full prefix was seen before (never a request's last token, which vLLM recomputes)."""
    seen: set[tuple[int, ...]] = set()
    reused = 0
    for ids in prompts:
        hit = 0
        for end in range(block, len(ids), block):
            if tuple(ids[:end]) not in seen:
                break
            hit = end
        reused += hit
        seen.update(tuple(ids[:end]) for end in range(block, len(ids) + 1, block))
    return reused


@BENCHMARKS.register("mi")
def mi_bench(params: Params) -> dict[str, Any]:
    if params.bench.mi is None:
        raise InfopipeError("bench.mi", "is not set in params.yaml (model, contexts)")
    bench, config = params.bench.mi, params.mi_sweep
    n = bench.contexts
    config = config.model_copy(update={"contexts": n})
    items = datasets.load(config, config.datasets[0])
    samples = [Sample(i.context, i.question, i.notes or i.answer) for i in items]
    contexts = [[j for j in range(n) if j != i] for i in range(n)]
    seconds, values = {}, {}
    for caching in (False, True):
        engine_config = params.engine.model_copy(update={"prefix_caching": caching})
        engine = open_engine(params.model_copy(update={"engine": engine_config}), bench.model)
        runs = []
        for _ in range(bench.repeats):
            engine.reset_cache()
            start = time.perf_counter()
            data = log_likelihoods(engine, samples, contexts, config.prompt)
            runs.append(time.perf_counter() - start)
        if caching:
            prompt_ids = _requests(engine, samples, contexts, config.prompt)
        name = "prefix_cache" if caching else "no_prefix_cache"
        seconds[name], values[name] = min(runs), data
        close_engines()
    worst = max(
        abs(a - b)
        for x, y in zip(values["prefix_cache"].others, values["no_prefix_cache"].others, strict=True)
        for a, b in zip(x, y, strict=True)
    )
    block = params.engine.block_size
    served = reused_tokens(prompt_ids, block) if block else None
    total = sum(map(len, prompt_ids))
    return {
        "prefix_cache_speedup": seconds["no_prefix_cache"] / seconds["prefix_cache"],
        "prompt_tokens": total,
        # What the cache can save where compute dominates (large models): prompt tokens over the
        # tokens still computed. On small models per-request overhead bounds the wall-time ratio.
        "prompt_tokens_served_from_cache": served,
        "prompt_tokens_computed_ratio": total / (total - served) if served is not None else None,
        "seconds": seconds,
        "contexts": n,
        "requests": n * n,
        "continuation_tokens": sum(values["prefix_cache"].tokens) * n,
        "max_abs_logprob_difference": worst,
        "block_size": params.engine.block_size,
        "model": bench.model,
        "engine": params.engine.backend,
        "hardware": hardware(),
        **library_versions(),
    }
