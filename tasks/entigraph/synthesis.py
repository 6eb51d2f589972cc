"""Steps 1-3 glued per document: the chosen entities, the relation batch, the stored rows."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from tasks import prompts
from tasks.catalog import model_spec
from tasks.config import config_hash
from tasks.engines import open_engine
from tasks.entigraph import rephrase
from tasks.entigraph.config import EntigraphParams
from tasks.entigraph.corpus import DocumentStore, deduplicate
from tasks.entigraph.extraction import EXTRACTORS, Extraction
from tasks.entigraph.relations import plan
from tasks.entigraph.sources import Source
from tasks.samplers import SamplingConfig


@dataclass(frozen=True)
class Synthesis:
    """Steps 1-3's outcome: every extractor's entities, the one chosen per document, every
    generated row, the deduplicated EntiGraph corpus (summaries, pairs, triples) and what
    deduplication dropped, the deduplicated rephrasings (the baseline's corpus), the token
    accounting."""

    extractions: dict[str, list[Extraction]]
    chosen: list[tuple[str, Extraction]]
    rows: pl.DataFrame
    corpus: pl.DataFrame
    dropped: dict[str, int]
    rephrased: pl.DataFrame
    accounting: dict[str, int]


def made_by(params: EntigraphParams) -> str:
    """The hash of everything a stored document's rows depend on (its parts are named with it)."""
    config = params.entigraph
    models = [config.entities.model, config.relations.model, config.cpt.base]
    return config_hash(
        config.entities,
        config.relations,
        config.rephrase,
        params.engine,
        *(model_spec(params, m) for m in models),
    )


def corpus(
    params: EntigraphParams,
    sources: Sequence[Source],
    extractions: dict[str, list[Extraction]],
    chosen: list[tuple[str, Extraction]],
    store: DocumentStore,
    accounting: dict[str, int],
) -> Synthesis:
    """The stored rows of every source document, deduplicated into the EntiGraph corpus and
    the rephrasings."""
    rows = store.read_all([s.doc_id for s in sources])
    threshold = params.entigraph.near_duplicate
    kept, dropped = deduplicate(rows.filter(pl.col("kind") != rephrase.KIND), threshold)
    rephrased, _ = deduplicate(rows.filter(pl.col("kind") == rephrase.KIND), threshold)
    return Synthesis(extractions, chosen, rows, kept, dropped, rephrased, accounting)


def _as_json(sampling: SamplingConfig) -> str:
    return json.dumps(sampling.model_dump(mode="json"), sort_keys=True)


def extract(params: EntigraphParams, sources: Sequence[Source]) -> dict[str, list[Extraction]]:
    """Every configured extractor over every document (each one batch per attempt)."""
    texts = [s.text for s in sources]
    return {name: EXTRACTORS.get(name)(params, texts) for name in params.entigraph.entities.extractors}


def choose(extractions: dict[str, list[Extraction]]) -> list[tuple[str, Extraction]]:
    """Per document, the first extractor (in params order) that found an entity."""
    names = list(extractions)
    chosen = []
    for i in range(len(extractions[names[0]])):
        found = [(n, extractions[n][i]) for n in names if extractions[n][i].entities]
        chosen.append(found[0] if found else (names[-1], extractions[names[-1]][i]))
    return chosen


def synthesize(
    params: EntigraphParams,
    sources: Sequence[Source],
    chosen: Sequence[tuple[str, Extraction]],
    store: DocumentStore,
) -> dict[str, int]:
    """Generate the relation texts and rephrasings of unfinished documents (one batch) and
    store every row."""
    config = params.entigraph.relations
    entities = params.entigraph.entities
    budget = plan([(s.doc_id, s.text, e.entities) for s, (_, e) in zip(sources, chosen, strict=True)], config)
    rewrites = rephrase.requests([(s.doc_id, s.text) for s in sources], params.entigraph.rephrase, config)
    pending = {s.doc_id for s in sources if not store.done(s.doc_id)}
    requests = [r for r in [*budget.requests, *rewrites] if r.doc_id in pending]
    outputs = []
    if requests:
        engine = open_engine(params, config.model)
        outputs = engine.generate(
            [r.prompt for r in requests], config.sampling, "left", seeds=[r.seed for r in requests]
        )
    rows: dict[str, list[dict[str, Any]]] = {doc: [] for doc in pending}
    common = {"config_hash": store.config_hash}
    for source, (extractor, extraction) in zip(sources, chosen, strict=True):
        if source.doc_id in pending and extraction.summary:
            rows[source.doc_id].append(
                {
                    "doc_id": source.doc_id,
                    "kind": "summary",
                    "entities": list(extraction.entities),
                    "text": extraction.summary,
                    "prompt_version": prompts.load(entities.prompt).tag,
                    "model": entities.model if extractor == "llm" else extractor,
                    "sampling": _as_json(entities.sampling),
                    "seed": None,
                    "prompt_tokens": 0,
                    "new_tokens": extraction.new_tokens,
                    "finish_reason": "stop",
                    **common,
                }
            )
    sampling = _as_json(config.sampling)
    for request, out in zip(requests, outputs, strict=True):
        rows[request.doc_id].append(
            {
                "doc_id": request.doc_id,
                "kind": request.kind,
                "entities": list(request.entities),
                "text": out.text.strip(),
                "prompt_version": request.prompt_version,
                "model": config.model,
                "sampling": sampling,
                "seed": request.seed,
                "prompt_tokens": len(out.prompt_ids),
                "new_tokens": len(out.token_ids),
                "finish_reason": out.finish_reason,
                **common,
            }
        )
    for source in sources:  # in document order, so a killed write loses at most one document
        if source.doc_id in pending:
            store.write_rows(source.doc_id, rows[source.doc_id])
    store.prune([s.doc_id for s in sources])
    return {
        "planned_requests": len(budget.requests) + len(rewrites),
        "generated_requests": len(requests),
        "resumed_documents": len(sources) - len(pending),
        "left_out_by_budget": sum(budget.skipped.values()),
    }
