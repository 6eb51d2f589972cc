"""Flow `decoding`: decoding strategies as vLLM logits processors, scored on quality and
diversity (reference/algorithms.md Job 4; typical sampling, Mirostat, top-H, min-p, EAD).

answer    per cell (model x sampler setting) the benchmarks through lm-eval, our engine as the
          lm-eval model and the sampler in gen_kwargs: world QA and arithmetic (local YAML);
          a sampler with further models (EAD) runs its own decode loop on the backend it needs
continue  per cell whose model generates in a prose track, continuations of the track's prefixes
          (held-out world documents, or Austen and Reuters; raw text, fixed length): surprisal
          and entropy per position
judge     each track's judge's perplexity of every continuation given its prefix
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

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.config import config_hash
from tasks.decoding import benchmarks, cells, grid, report
from tasks.decoding.config import DecodingParams
from tasks.deps import made_by
from tasks.engines import close_engines
from tasks.errors import first_line
from tasks.outputs import JobOutputs
from tasks.parts import PartStore

JOB = "decoding"
PARAMS = DecodingParams
run_cell = task(name="cell", cache_policy=NO_CACHE)(cells.run_cell)


@flow(name=JOB)
def decoding(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Answer, continue, judge, report."""
    params = read(PARAMS, params_file, overrides)
    config = params.decoding
    out = JobOutputs(JOB)
    folder = out.data / "benchmarks"
    names = [
        benchmarks.write(b, folder, config.questions, config.seed, config.answer_tokens)
        for b in config.benchmarks
    ]
    prefixes = cells.prose_prefixes(params)
    models = sorted({*config.models, *(t.judge for t in config.prose.tracks.values())})
    settings = config.model_copy(update={"models": [], "settings": []})  # cells name their own parts
    made = config_hash(settings, params.engine, *(params.models[m] for m in models))
    store = PartStore(out.data / "parts", made_by(made, JOB))
    grid_cells = grid.cells(config)
    failures: dict[str, str] = {}
    with tracking.flow_run(
        JOB, config.model_dump(), run_tags(params, engine=params.engine.backend, models=models)
    ) as run:
        for model, setting in grid_cells:
            key = grid.cell_key(model, setting)
            try:
                run_cell.with_options(task_run_name=f"cell-{key}")(
                    params, model, setting, folder, names, prefixes, store
                )
            except Exception as err:  # a failed cell is recorded; the rest of the grid completes
                failures[key] = first_line(err)
        failures |= cells.judge_all(params, grid_cells, store)
        close_engines()
        store.prune([k for m, s in grid_cells for k in grid.part_keys(m, s)])

        table, answers, continuations, trajectories = grid.assemble(config, grid_cells, store, failures)
        metrics = report.metrics(table, config, continuations)
        for r in table.iter_rows(named=True):
            with run.child(f"{r['model']}/{r['setting']}", {k: r[k] for k in report.IDENTITY}) as child:
                child.set_tags({"status": r["status"]})
                child.log_metrics({k: v for k, v in r.items() if isinstance(v, float) and v == v})
        tables = {"cells": table, "answers": answers, "prose": continuations}
        run.log_metrics(report.headline_metrics(metrics))
        run.log_artifacts(report.write(out, tables, trajectories, metrics, config.benchmarks))
    return metrics
