"""`infopipe bench generators`: how faithful the EntiGraph relation generator is at each
sampling temperature (tasks/entigraph/faithfulness.py), to pick `entigraph.relations.sampling`.

Inputs: the relation requests of the first `DOCUMENTS` held-out world documents with spaCy's
entities (no LLM call before), `DOC_BUDGET` tokens each; the same requests and seeds at every
temperature. Per temperature: relating sentences, faithful share, invented facts per 1k
generated tokens, distinct word 3-gram ratio, tokens/s."""

import time
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.engines import open_engine
from tasks.entigraph.corpus import distinct_ngrams
from tasks.entigraph.entities import EXTRACTORS
from tasks.entigraph.faithfulness import faithfulness, of_world
from tasks.entigraph.relations import plan
from tasks.params import Params
from tasks.tracking import hardware, library_versions
from tasks.world.build import read_world
from tasks.world.document import from_tables

DOCUMENTS = 6
DOC_BUDGET = 1536
TEMPERATURES = (1.0, 0.5, 0.2)


@BENCHMARKS.register("generators")
def generators_bench(params: Params) -> dict[str, Any]:
    config = params.entigraph.relations.model_copy(update={"doc_budget_tokens": DOC_BUDGET})
    docs = from_tables(read_world(), "heldout")[:DOCUMENTS]
    found = EXTRACTORS.get("spacy")(params, [d.text for d in docs])
    requests = plan(
        [(d.doc_id, d.text, f.entities) for d, f in zip(docs, found, strict=True)], config
    ).requests
    facts = of_world()
    engine = open_engine(params, config.model)
    by_temperature: dict[str, Any] = {}
    for temperature in TEMPERATURES:
        sampling = config.sampling.model_copy(update={"temperature": temperature})
        start = time.perf_counter()
        out = engine.generate(
            [r.prompt for r in requests], sampling, "left", seeds=[r.seed for r in requests]
        )
        seconds = time.perf_counter() - start
        texts, tokens = [g.text.strip() for g in out], sum(len(g.token_ids) for g in out)
        by_temperature[str(temperature)] = {
            **faithfulness(texts, facts, tokens),
            "distinct_3gram_ratio": distinct_ngrams(texts),
            "tokens": tokens,
            "tokens_per_second": tokens / seconds,
        }
    return {
        "by_temperature": by_temperature,
        "chosen_temperature": config.sampling.temperature,
        "documents": DOCUMENTS,
        "requests": len(requests),
        "model": config.model,
        "engine": params.engine.backend,
        "hardware": hardware(),
        **library_versions(),
    }
