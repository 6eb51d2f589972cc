"""`infopipe bench mi`: wall time of the N x N log-likelihoods behind the MI estimate (every
sample's notes under every context) with vLLM's prefix caching against without (goal >= 3x).

Inputs: the first N contexts of the sweep's first dataset with their gold notes as the
compressions (no generation before timing), scored by `bench.mi.model` through `engine.score`;
the two engines differ only in `engine.prefix_caching`. The values are checked equal."""

import time
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.config import Params
from tasks.engines import close_engines, open_engine
from tasks.errors import InfopipeError
from tasks.mi import datasets
from tasks.mi.scoring import Sample, log_likelihoods
from tasks.tracking import hardware, library_versions


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
        name = "prefix_cache" if caching else "no_prefix_cache"
        seconds[name], values[name] = min(runs), data
        close_engines()
    worst = max(
        abs(a - b)
        for x, y in zip(values["prefix_cache"].others, values["no_prefix_cache"].others, strict=True)
        for a, b in zip(x, y, strict=True)
    )
    return {
        "prefix_cache_speedup": seconds["no_prefix_cache"] / seconds["prefix_cache"],
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
