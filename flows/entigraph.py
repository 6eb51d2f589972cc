"""Flow `entigraph`: synthetic continued pretraining (Yang et al. 2024; reference/algorithms.md Job 2).

entities   every extractor lists each source document's salient entities (the generator LLM's
           JSON answer with bounded retries; the family's entity role; spaCy NER); per document
           the first extractor that finds any is used; precision/recall against the world's truth
relations  pairs and seeded triples under token budgets, one engine batch, stored per document
           (a rerun after a kill generates only the missing documents)
corpus     rows with provenance, exact and near duplicates removed, statistics
pretrain   the base model continued on raw documents (repeated to the corpus's tokens) and on
           prefixes of the EntiGraph stream (budgets), with transformers' Trainer
evaluate   closed-book multiple-choice QA (lm-eval, tasks/entigraph/lm_eval/) for base, raw
           CPT, every budget, and the base model with the document in context

Produces data/entigraph/{documents/, extractions.parquet, corpus.parquet, qa.jsonl,
answers.parquet, models/}, reports/entigraph/{metrics.json, summary.md, accuracy/, accuracy.png}
and an MLflow run in experiment `entigraph` with a child run per model.

CPU:  infopipe run entigraph   (or `dvc repro entigraph`; needs stages world and models)
GPU:  the same with params.gpu.yaml (instruct generator, larger base model)
"""

import shutil
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import run_tags
from tasks import tracking
from tasks.config import config_hash, load_params
from tasks.engines import close_engines, open_engine
from tasks.entigraph import cpt, qa, report
from tasks.entigraph.corpus import DocumentStore, deduplicate
from tasks.entigraph.sources import SOURCES
from tasks.entigraph.synthesis import choose, extract, synthesize
from tasks.io import write_text
from tasks.models.catalog import model_spec
from tasks.outputs import JobOutputs
from tasks.world.build import read_world
from tasks.world.document import from_tables

JOB = "entigraph"
extract_entities = task(name="entities", cache_policy=NO_CACHE)(extract)
write_relations = task(name="relations", cache_policy=NO_CACHE, retries=1)(synthesize)
pretrain = task(name="pretrain", cache_policy=NO_CACHE)(cpt.train_run)
score = task(name="evaluate", cache_policy=NO_CACHE)(qa.accuracy)


@flow(name=JOB)
def entigraph(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Entities, relations, corpus, continued pretraining, closed-book QA."""
    params = load_params(params_file, overrides or [])
    config = params.entigraph
    out = JobOutputs(JOB)
    sources = SOURCES.get(config.source)(params)
    models = [config.entities.model, config.relations.model, config.cpt.base]
    tags = run_tags(params, engine=params.engine.backend, models=sorted(set(models)))
    with tracking.flow_run(JOB, config.model_dump(), tags) as run:
        extractions = extract_entities(params, sources)
        chosen = choose(extractions)
        made_by = config_hash(
            config.entities, config.relations, params.engine, *(model_spec(params, m) for m in models)
        )
        store = DocumentStore(out.data / "documents", made_by)
        accounting = write_relations(params, sources, chosen, store)
        rows = store.read_all([s.doc_id for s in sources])
        corpus, dropped = deduplicate(rows, config.near_duplicate)
        close_engines()

        tokenizer = cpt.tokenizer(params)
        synthetic = cpt.stream(corpus["text"].to_list(), tokenizer, config.cpt.seed)
        source = cpt.stream([s.text for s in sources], tokenizer, config.cpt.seed)
        replay = cpt.stream([d.text for d in from_tables(read_world(), "train")], tokenizer, config.cpt.seed)
        runs = cpt.runs(source, synthetic, config.cpt.budgets)
        shutil.rmtree(out.data / "models", ignore_errors=True)  # only this run's models stay
        trained = {
            r.name: pretrain(
                cpt.base_source(params),
                r.tokens,
                replay,
                out.data / "models" / r.name,
                config.cpt,
                params.engine.hf_device,
            )
            for r in runs
        }

        items = [q for s in sources for q in s.questions]
        qa.write_items(items)
        accuracy, answers = {}, []
        for name in ["base", *(r.name for r in runs if trained[r.name]["blocks"]), "in_context"]:
            if name in trained:
                engine = open_engine(cpt.as_model(params, name, out.data / "models" / name), name)
            else:
                engine = open_engine(params, config.cpt.base)
            accuracy[name], records = score(engine, qa.IN_CONTEXT if name == "in_context" else qa.CLOSED_BOOK)
            answers += [{"model": name, **r} for r in report.answer_rows(records)]
            with run.child(name, {"model": name}) as child:
                child.log_metrics({**accuracy[name], **trained.get(name, {})})
        close_engines()

        extraction = report.extraction_table(sources, extractions, [name for name, _ in chosen])
        entities = {s.doc_id: e.entities for s, (_, e) in zip(sources, chosen, strict=True)}
        metrics = report.metrics(
            accuracy,
            extraction,
            corpus,
            rows,
            dropped,
            accounting,
            runs,
            trained,
            entities,
            len(items),
            synthetic_tokens=len(synthetic),
            source_tokens=len(source),
        )
        files = [
            *out.tables({"extractions": extraction, "corpus": corpus, "answers": pl.DataFrame(answers)}),
            out.metrics(metrics),
            write_text(out.reports / "summary.md", report.summary(metrics)),
            *out.curves(
                "accuracy",
                report.curves(metrics),
                "synthetic_tokens",
                "accuracy",
                "closed-book QA accuracy",
                xscale="log",
            ),
        ]
        run.log_metrics(report.headline_metrics(metrics))
        run.log_artifacts(files)
    return metrics
