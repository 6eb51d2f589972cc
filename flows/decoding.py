"""Flow `decoding`: decoding strategies as vLLM logits processors, scored on quality and
diversity (reference/algorithms.md Job 4; typical sampling, Mirostat, top-H, min-p, EAD).

answer    per cell (model x sampler setting) the benchmarks through lm-eval, our engine as the
          lm-eval model and the sampler in gen_kwargs: world QA and arithmetic (local YAML);
          EAD decodes with its small and large model (hf backend: two models, exact entropy)
continue  per cell, continuations of Austen and Reuters prefixes (raw text, fixed length):
          surprisal and entropy per position
judge     the judge model's perplexity of every continuation given its prefix
report    accuracy with CI, distinct-n, self-BLEU, repetition, Mirostat's achieved surprise,
          EAD's large-model share; plots quality_diversity, surprisal, repetition

Each cell's answers and continuations are parts (data/decoding/parts/): a rerun does only the
missing ones. A cell that fails (a model that does not load) is recorded with its reason.

Produces data/decoding/{benchmarks/, parts/, cells.parquet, answers.parquet, prose.parquet},
reports/decoding/{metrics.json, summary.md, quality_diversity/, surprisal/, repetition/, *.png}
and an MLflow run in experiment `decoding` with a child run per cell.

CPU:  infopipe run decoding   (or `dvc repro decoding`; needs stages world, corpus and models)
GPU:  the same with params.gpu.yaml
"""

from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import run_tags
from tasks import lmeval, tracking
from tasks.config import DecodingSetting, Params, config_hash, load_params
from tasks.decoding import benchmarks, grid, prose, report
from tasks.decoding.base import use_v1_logits_processors
from tasks.engines import close_engines, open_engine
from tasks.io import write_text
from tasks.outputs import JobOutputs
from tasks.parts import PartStore

JOB = "decoding"


@flow(name=JOB)
def decoding(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Answer, continue, judge, report."""
    params = load_params(params_file, overrides or [])
    use_v1_logits_processors()
    config = params.decoding
    out = JobOutputs(JOB)
    names = [
        benchmarks.write(b, out.data / "benchmarks", config.questions, config.seed, config.answer_tokens)
        for b in config.benchmarks
    ]
    prefixes = prose_prefixes(params)
    specs = [params.models[m] for m in sorted({*config.models, config.judge})]
    settings = config.model_copy(update={"models": [], "settings": []})  # cells name their own parts
    store = PartStore(out.data / "parts", config_hash(settings, params.engine, *specs))
    cells = grid.cells(config)
    failures: dict[str, str] = {}
    tags = run_tags(params, engine=params.engine.backend, models=sorted({*config.models, config.judge}))
    with tracking.flow_run(JOB, config.model_dump(), tags) as run:
        for model, setting in cells:
            key = grid.cell_key(model, setting)
            try:
                run_cell.with_options(task_run_name=f"cell-{key}")(
                    params, model, setting, names, prefixes, store
                )
            except Exception as err:  # a failed cell is recorded; the rest of the grid completes
                failures[key] = str(err).splitlines()[0] if str(err) else type(err).__name__
        judge_all(params, cells, store, failures)
        close_engines()
        store.prune([k for m, s in cells for k in grid.part_keys(m, s)])

        table, answers, continuations, trajectories = grid.assemble(config, cells, store, failures)
        metrics = report.metrics(table, config)
        for r in table.iter_rows(named=True):
            with run.child(f"{r['model']}/{r['setting']}", {k: r[k] for k in report.IDENTITY}) as child:
                child.set_tags({"status": r["status"]})
                child.log_metrics({k: v for k, v in r.items() if isinstance(v, float) and v == v})
        files = [
            *out.tables({"cells": table, "answers": answers, "prose": continuations}),
            out.metrics(metrics),
            write_text(out.reports / "summary.md", report.summary(metrics, table, config.benchmarks)),
        ]
        series = report.curves(table, trajectories)
        for name, x, y, title, scatter in PLOTS:
            files += out.curves(name, series[name], x, y, title, markers_only=scatter)
        run.log_metrics(report.headline_metrics(metrics))
        run.log_artifacts(files)
    return metrics


PLOTS = [
    ("quality_diversity", "judge_perplexity", "distinct_2", "quality (judge perplexity) vs diversity", True),
    ("surprisal", "position", "surprisal", "surprisal (bits) by position", False),
    ("repetition", "judge_perplexity", "repetition", "repetition (seq-rep-4) by sampler", True),
]


def prose_prefixes(params: Params) -> pl.DataFrame:
    """The prose prompts; none when the corpus stage found no real texts (its metrics say why)."""
    from tasks.corpus.build import read_chunks

    return prose.prefixes(params.decoding, read_chunks())


@task(name="cell", cache_policy=NO_CACHE)
def run_cell(
    params: Params,
    model: str,
    setting: DecodingSetting,
    names: list[str],
    prefixes: pl.DataFrame,
    store: PartStore,
) -> None:
    """One cell's answers (lm-eval) and prose continuations, each written as a part."""
    config = params.decoding
    answers_key, prose_key, _ = grid.part_keys(model, setting)
    sampler = grid.sampler(setting)
    ead = setting.name == "ead"
    backend = "hf" if ead else None  # EAD holds two models: in-process vLLM is one per process
    if not store.done(answers_key):
        engine = open_engine(params, model, backend)
        lm = lmeval.engine_lm(engine, lambda name: open_engine(params, name, "hf"))
        folder = JobOutputs(JOB).data / "benchmarks"
        samples = lmeval.run(lm, folder, names, gen_kwargs=lmeval.gen_kwargs(sampler))
        rows = report.answer_rows(samples).with_columns(
            large_share=pl.lit(report.large_share(lm.switching) if ead else None, dtype=pl.Float64)
        )
        store.write(answers_key, rows)
    prose_models = config.prose.models or config.models
    if not ead and model in prose_models and not prefixes.is_empty() and not store.done(prose_key):
        engine = open_engine(params, model)
        store.write(
            prose_key, prose.continue_prose(engine, prefixes, sampler, config.prose.max_tokens, config.seed)
        )


def judge_all(
    params: Params, cells: list[tuple[str, DecodingSetting]], store: PartStore, failures: dict[str, str]
) -> None:
    """The judge's surprisal of every continuation not judged yet (one judge engine)."""
    todo = [
        (prose_key, judged_key)
        for m, s in cells
        for _, prose_key, judged_key in [grid.part_keys(m, s)]
        if store.done(prose_key) and not store.done(judged_key)
    ]
    if not todo:
        return
    try:
        judge = open_engine(params, params.decoding.judge)
    except Exception as err:  # every unjudged cell records why
        for _, judged_key in todo:
            failures[judged_key] = f"judge {params.decoding.judge} failed to load: {str(err).splitlines()[0]}"
        return
    for prose_key, judged_key in todo:
        store.write(judged_key, prose.judge(judge, store.read(prose_key)))
