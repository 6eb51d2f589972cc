"""Flow `compression`: LLMLingua-2 end to end (Pan et al. 2024; reference/algorithms.md Job 1).

distil    every teacher compresses the source chunks (an LLM, free or extractive-constrained;
          the world's truth as `oracle`)
annotate  align teacher outputs to the original words: keep/drop labels, variation rate and
          alignment gap per chunk, worst tails filtered; the truth's labels beside them
train     fine-tune the encoder as a keep/drop token classifier on the chosen teacher's labels
parity    our `llmlingua2` against the `llmlingua` package on world and Reuters documents
compress  every method x rate compresses held-out world documents and Reuters articles
evaluate  a predictor answers the world questions from them; Reuters: entities and numbers kept

Produces data/compression/{distil,labels,results,retention}.parquet, data/compression/classifier/ (HF
format), reports/compression/{metrics.json, summary.md, accuracy/, retention/, *.png} and an
MLflow run in experiment `compression` with a child run per (method, rate).

CPU:  infopipe run compression   (or `dvc repro compression`; needs stages world, corpus, models)
GPU:  the same with params.gpu.yaml (instruct teacher, xlm-roberta-large or a released checkpoint)
"""

import time
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.compression import report
from tasks.compression.annotate import label_table
from tasks.compression.classifier import train_classifier
from tasks.compression.config import CompressionParams
from tasks.compression.distil import distil
from tasks.compression.evaluate import compress_all, entity_retention, evaluate, summarize
from tasks.compression.inputs import inputs
from tasks.compression.methods import build_methods, parity
from tasks.corpus.build import read_chunks
from tasks.engines import open_engine
from tasks.io import write_text
from tasks.outputs import JobOutputs
from tasks.world.build import read_world

JOB = "compression"
PARAMS = CompressionParams
distil_chunks = task(name="distil", cache_policy=NO_CACHE)(distil)
annotate = task(name="annotate", cache_policy=NO_CACHE)(label_table)
train = task(name="train", cache_policy=NO_CACHE)(train_classifier)
check_parity = task(name="parity", cache_policy=NO_CACHE)(parity)
compress = task(name="compress", cache_policy=NO_CACHE)(compress_all)
answer = task(name="evaluate", cache_policy=NO_CACHE)(evaluate)


@flow(name=JOB)
def compression(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Distil, annotate, train, then compress and answer with every method at every rate."""
    started = time.perf_counter()
    params = read(PARAMS, params_file, overrides)
    config, evaluation = params.compression, params.compression.evaluation
    out = JobOutputs(JOB)
    given = inputs(config, read_world(), read_chunks())
    models = sorted({t.model for t in config.teachers if t.model} | {config.scorer, evaluation.predictor})
    with tracking.flow_run(
        JOB, config.model_dump(), run_tags(params, engine=params.engine.backend, models=models)
    ) as run:
        distilled = distil_chunks(params, given.chunks)
        facts = {c.chunk_id: c.facts for c in given.chunks if c.facts is not None}
        labels = annotate(distilled, config.window, config.filter_quantile, config.max_variation_rate, facts)
        classifier = config.classifier.released or str(out.data / "classifier")
        trained = {} if config.classifier.released else train(params, labels, out.data / "classifier")
        agreement = check_parity(classifier, given.parity, 0.5)

        methods = build_methods(params, evaluation.methods, classifier)
        compressed = compress(
            methods, evaluation.rates, [i.context for i in given.items] + [t for _, t in given.real]
        )
        predictor = open_engine(params, evaluation.predictor)
        results = answer(compressed, given.items, predictor, evaluation.prompt, evaluation.max_tokens)
        retention = entity_retention(compressed, given.real)
        cells = summarize(results, retention)
        for method in methods:
            for rate in evaluation.rates:
                with run.child(f"{method}-{rate}", {"method": method, "rate": rate}) as child:
                    child.log_metrics(report.cell_metrics(cells, method, rate))

        metrics = report.metrics(cells, results, agreement, trained, labels, config.teacher, given.truth_rate)
        metrics["stage_seconds"] = time.perf_counter() - started  # budget: 5 minutes on two cores
        oracle = next(t.method == "oracle" for t in config.teachers if t.name == config.teacher)
        files = [
            *out.tables({"distil": distilled, "labels": labels, "results": results, "retention": retention}),
            out.metrics(metrics),
            write_text(
                out.reports / "summary.md",
                report.summary_table(cells, config.teacher, oracle, given.truth_rate),
            ),
            *out.curves(
                "accuracy",
                report.curves(cells, "accuracy"),
                "achieved_ratio",
                "accuracy",
                "world QA accuracy",
            ),
            *out.curves(
                "span_retention",
                report.curves(cells, "span_retention"),
                "achieved_ratio",
                "span_retention",
                "answer spans kept",
            ),
            *out.curves(
                "entity_retention",
                report.curves(cells, "entity_retention", "real"),
                "achieved_ratio",
                "entity_retention",
                "Reuters: named entities and numbers kept",
            ),
        ]
        run.log_metrics({k: v for k, v in agreement.items() if isinstance(v, float)})
        run.log_metrics({f"teacher_label_f1.{k}": v for k, v in metrics["teacher_label_f1"].items()})
        run.log_metrics({f"classifier.{k}": v for k, v in metrics["classifier"].items()})
        run.log_artifacts(files)
    return {k: v for k, v in metrics.items() if k != "cells"}
