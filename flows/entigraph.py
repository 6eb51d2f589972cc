"""Flow `entigraph`: synthetic continued pretraining (Yang et al. 2024; reference/algorithms.md Job 2).

entities   every extractor lists each source document's salient entities (the generator LLM's
           JSON answer with bounded retries; the family's entity role; spaCy NER); per document
           the first extractor that finds any is used; precision/recall against the world's truth
relations  pairs and seeded triples under token budgets, and the Rephrase baseline's rewrites
           of each document, one engine batch, stored per document (a rerun after a kill
           generates only the missing documents)
corpus     rows with provenance, exact and near duplicates removed, statistics, faithfulness
pretrain   the base model continued on raw documents and on rephrasings (each repeated to the
           corpus's tokens) and on prefixes of the EntiGraph stream (budgets), with transformers'
           Trainer
evaluate   closed-book multiple-choice QA (lm-eval, tasks/entigraph/lm_eval/), forward,
           reversed and paraphrased questions, for base, raw CPT, Rephrase CPT, every budget,
           and the base model with the document in context

Produces data/entigraph/{documents/, extractions.parquet, corpus.parquet, qa.jsonl,
answers.parquet, models/}, reports/entigraph/{metrics.json, summary.md, accuracy/, accuracy.png}
and an MLflow run in experiment `entigraph` with a child run per model.

CPU:  infopipe run entigraph   (or `dvc repro entigraph`; needs stages world and models)
GPU:  the same with params.gpu.yaml (instruct generator, larger base model)
"""

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.deps import made_by
from tasks.engines import close_engines
from tasks.entigraph import cpt, faithfulness, qa, report, synthesis
from tasks.entigraph.config import EntigraphParams
from tasks.entigraph.corpus import DocumentStore
from tasks.entigraph.evaluate import evaluate_all
from tasks.entigraph.sources import SOURCES
from tasks.outputs import JobOutputs

JOB = "entigraph"
PARAMS = EntigraphParams
extract_entities = task(name="entities", cache_policy=NO_CACHE)(synthesis.extract)
write_relations = task(name="relations", cache_policy=NO_CACHE, retries=1)(synthesis.synthesize)
pretrain = task(name="pretrain", cache_policy=NO_CACHE)(cpt.pretrain_all)
evaluate = task(name="evaluate", cache_policy=NO_CACHE)(evaluate_all)


@flow(name=JOB)
def entigraph(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Entities, relations, corpus, continued pretraining, closed-book QA."""
    params = read(PARAMS, params_file, overrides)
    config = params.entigraph
    out = JobOutputs(JOB)
    sources = SOURCES.get(config.source)(params)
    models = sorted({config.entities.model, config.relations.model, config.cpt.base})
    with tracking.flow_run(
        JOB, config.model_dump(), run_tags(params, engine=params.engine.backend, models=models)
    ) as run:
        extractions = extract_entities(params, sources)
        chosen = synthesis.choose(extractions)
        store = DocumentStore(out.data / "documents", made_by(synthesis.made_by(params), JOB))
        accounting = write_relations(params, sources, chosen, store)
        made = synthesis.corpus(params, sources, extractions, chosen, store, accounting)
        close_engines()

        corpus, rephrased = made.corpus["text"].to_list(), made.rephrased["text"].to_list()
        pretrained = pretrain(params, sources, corpus, out.data / "models", rephrased)
        qa.write_items([q for s in sources for q in s.questions])
        accuracy, answers = evaluate(params, pretrained, out.data / "models")
        for name, scores in accuracy.items():
            with run.child(name, {"model": name}) as child:
                child.log_metrics({**scores, **pretrained.trained.get(name, {})})

        metrics = report.metrics(sources, made, pretrained, accuracy, answers, faithfulness.of_world())
        run.log_metrics(report.headline_metrics(metrics))
        run.log_artifacts(report.write(out, sources, made, answers, metrics))
    return metrics
