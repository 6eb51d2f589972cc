"""`infopipe bench entigraph`: synthetic tokens/s of the relation step through the engine, all
requests in one batch against one request at a time (goal: batched >= 5x).

Inputs: the relation requests of the first `documents` held-out world documents, with spaCy's
entities (no LLM call before timing); the sequential pass runs the first `sequential` of them."""

import time
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.engines import open_engine
from tasks.entigraph.entities import EXTRACTORS
from tasks.entigraph.relations import plan
from tasks.params import Params
from tasks.tracking import hardware, library_versions
from tasks.world.build import read_world
from tasks.world.document import from_tables

DOCUMENTS = 4
SEQUENTIAL = 8


def _tokens_per_second(engine: Any, requests: list[Any], sampling: Any) -> tuple[float, int, float]:
    start = time.perf_counter()
    out = engine.generate([r.prompt for r in requests], sampling, "left", seeds=[r.seed for r in requests])
    seconds = time.perf_counter() - start
    tokens = sum(len(g.token_ids) for g in out)
    return tokens / seconds, tokens, seconds


@BENCHMARKS.register("entigraph")
def entigraph_bench(params: Params) -> dict[str, Any]:
    config = params.entigraph.relations
    docs = from_tables(read_world(), "heldout")[:DOCUMENTS]
    found = EXTRACTORS.get("spacy")(params, [d.text for d in docs])
    requests = plan(
        [(d.doc_id, d.text, f.entities) for d, f in zip(docs, found, strict=True)], config
    ).requests
    # Fixed length, so both passes generate the same number of tokens per request.
    sampling = config.sampling.model_copy(update={"ignore_eos": True})
    engine = open_engine(params, config.model)
    batched, batched_tokens, batched_seconds = _tokens_per_second(engine, requests, sampling)
    one_by_one = []
    for request in requests[:SEQUENTIAL]:
        one_by_one.append(_tokens_per_second(engine, [request], sampling))
    sequential = sum(t for _, t, _ in one_by_one) / sum(s for _, _, s in one_by_one)
    return {
        "batched_vs_sequential": batched / sequential,
        "tokens_per_second": {"batched": batched, "sequential": sequential},
        "batched_requests": len(requests),
        "batched_tokens": batched_tokens,
        "batched_seconds": batched_seconds,
        "sequential_requests": len(one_by_one),
        "max_tokens": sampling.max_tokens,
        "model": config.model,
        "engine": params.engine.backend,
        "hardware": hardware(),
        **library_versions(),
    }
