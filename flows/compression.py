"""Flow `compression`: LLMLingua-2 end to end (Pan et al. 2024; reference/algorithms.md Job 1).

distil    teacher LLMs compress source chunks extractively (one engine batch per teacher)
annotate  align teacher outputs to the original words: keep/drop labels, variation rate and
          alignment gap per chunk, worst tails filtered
train     fine-tune the encoder as a keep/drop token classifier; held-out token P/R/F1
parity    our `llmlingua2` against the `llmlingua` package on real documents, same classifier
evaluate  every method x rate compresses world and real contexts; a predictor answers from them

Produces data/compression/{distil,labels,results}.parquet, data/compression/classifier/ (HF
format), reports/compression/{metrics.json, summary.md, accuracy/, retention/, *.png} and an
MLflow run in experiment `compression` with a child run per (method, rate).

CPU:  infopipe run compression   (or `dvc repro compression`; needs stages world, corpus, models)
GPU:  the same with params.gpu.yaml (instruct teacher, xlm-roberta-large or a released checkpoint)
"""

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
from tasks.compression.evaluate import evaluate, summarize
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
answer = task(name="evaluate", cache_policy=NO_CACHE)(evaluate)


@flow(name=JOB)
def compression(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Distil, annotate, train, then compress and answer with every method at every rate."""
    params = read(PARAMS, params_file, overrides)
    config, evaluation = params.compression, params.compression.evaluation
    out = JobOutputs(JOB)
    given = inputs(config, read_world(), read_chunks())
    models = sorted({t.model for t in config.teachers} | {config.scorer, evaluation.predictor})
    with tracking.flow_run(
        JOB, config.model_dump(), run_tags(params, engine=params.engine.backend, models=models)
    ) as run:
        distilled = distil_chunks(params, given.chunks)
        labels = annotate(distilled, config.window, config.filter_quantile, config.max_variation_rate)
        classifier = config.classifier.released or str(out.data / "classifier")
        trained = {} if config.classifier.released else train(params, labels, out.data / "classifier")
        agreement = check_parity(classifier, given.parity, 0.5)

        methods = build_methods(params, evaluation.methods, classifier)
        predictor = open_engine(params, evaluation.predictor)
        results = answer(methods, evaluation.rates, given.items, predictor, evaluation.max_tokens)
        cells = summarize(results)
        for method in methods:
            for rate in evaluation.rates:
                with run.child(f"{method}-{rate}", {"method": method, "rate": rate}) as child:
                    child.log_metrics(report.cell_metrics(cells, method, rate))

        metrics = report.metrics(cells, agreement, trained, labels)
        files = [
            *out.tables({"distil": distilled, "labels": labels, "results": results}),
            out.metrics(metrics),
            write_text(out.reports / "summary.md", report.summary_table(cells)),
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
        ]
        run.log_metrics({k: v for k, v in agreement.items() if v is not None})
        run.log_metrics({f"classifier.{k}": v for k, v in metrics["classifier"].items()})
        run.log_artifacts(files)
    return {k: v for k, v in metrics.items() if k != "cells"}
