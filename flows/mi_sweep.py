"""Flow `mi_sweep`: compressor x predictor sweeps with a mutual-information estimate (He et al.
2025, arXiv 2512.21720; reference/algorithms.md Job 3).

compress   each compressor's sampled notes Z of every context X and question Q, every budget
           (and whether each note contains the gold answer)
score      log p(z | x_j, q) under its own and M other contexts (compressor or a fixed scorer)
read       each predictor answers from the whole context X: one below min_predictor_accuracy is
           reported and left out of the analyses
answer     per cell (dataset x compressor x predictor x budget) the predictor answers from (Z, Q):
           a task per cell on the runner of params, retried when the engine fails
estimate   registered MI estimators (tasks/mi/): bits, bits per token, bootstrap CI; FLOPs
report     the sweep table; over the predictors that read, with a paired bootstrap over the items:
           Spearman rho(MI, accuracy), the bits/token slope on log10(parameters), accuracy per
           GFLOP when scaling the compressor vs the predictor; rate-distortion curves, plots

Every compression, score table and cell is a part (data/mi_sweep/parts/): a rerun does only the
missing ones. A model that fails to load or a prompt that does not fit makes failed cells,
recorded with their reason; the rest of the sweep completes.

Produces data/mi_sweep/{parts/, cells.parquet, answers.parquet, notes.parquet},
reports/mi_sweep/{metrics.json, summary.md, accuracy_vs_mi/, bits_per_token/, rate_distortion/,
scaling/, *.png} and an MLflow run in experiment `mi_sweep` with a child run per cell.

CPU:  infopipe run mi_sweep   (or `dvc repro mi_sweep`; needs stages world and models)
GPU:  the same with params.gpu.yaml (Qwen2.5 compressors and predictors, JSONL QA sets)
"""

from pathlib import Path
from typing import Any, cast

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.params import read
from flows.runtime import RunnerParams, engine_fault, engine_lock, failed, run_tags, task_resources
from tasks import tracking
from tasks.catalog import rooted
from tasks.config import RunnerConfig, config_hash
from tasks.deps import made_by
from tasks.engines import close_engines
from tasks.mi import cost, datasets, report, steps
from tasks.mi.config import MiSweepParams
from tasks.mi.sweep import Cell, Parts, assemble, compressions
from tasks.outputs import JobOutputs
from tasks.parts import PartStore

JOB = "mi_sweep"
PARAMS = MiSweepParams
IDENTITY = ("dataset", "compressor", "predictor", "budget")
compress = task(name="compress", cache_policy=NO_CACHE, task_run_name="compress-{compressor}")(
    steps.compress_all
)
score = task(name="score", cache_policy=NO_CACHE, task_run_name="score-{scorer}")(steps.score_all)
read_whole = task(name="uncompressed", cache_policy=NO_CACHE, task_run_name="uncompressed-{predictor}")(
    steps.answer_uncompressed
)
CELL_RETRIES = 2  # an engine that dies mid-cell is reopened and the cell retried
CELL_BACKOFF_SECONDS = 10.0  # 10 s, then 20 s (+-50% jitter)


@flow(name=JOB, task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=1)))  # CLI: params.runner
def mi_sweep(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Compress, score, answer, estimate, report."""
    params, runner = read(PARAMS, params_file, overrides), read(RunnerParams, params_file, overrides).runner
    config = params.mi_sweep
    out = JobOutputs(JOB)
    items = {d: datasets.load(config, d) for d in config.datasets}
    settings = config.model_copy(update={"compressors": [], "predictors": [], "budgets": [], "datasets": []})
    parts = Parts(
        params, PartStore(out.data.resolve() / "parts", made_by(config_hash(settings, params.engine), JOB))
    )
    models = sorted({*config.compressors, *config.predictors} | ({config.scorer} - {"compressor"}))
    with tracking.flow_run(
        JOB, config.model_dump(), run_tags(params, engine=params.engine.backend, models=models)
    ) as run:
        failures: dict[str, str] = {}
        for compressor in config.compressors:
            failures |= compress(params, compressor, items, parts)
        if config.scorer != "compressor":
            failures |= score(params, config.scorer, compressions(config), items, parts)
        for predictor in config.predictors:
            failures |= read_whole(params, predictor, items, parts)
            failures |= answer_all(params, runner, predictor, items, parts)
        close_engines()
        parts.store.prune(parts.all(config))

        parameters = {m: n for m in models if (n := cost.parameters(params, m)) is not None}
        gold = {d: {i.item_id: i.answer for i in its} for d, its in items.items()}
        sweep = assemble(config, parts, failures, parameters, gold)
        table = sweep.table
        validation = report.known_mi() | report.bias_at(config)
        metrics = report.metrics(
            table,
            parameters,
            validation,
            (sweep.answers, sweep.terms),
            sweep.uncompressed,
            config.min_predictor_accuracy,
            config.out_of_family,
        )
        for r in table.iter_rows(named=True):
            with run.child(r["cell"], {k: r[k] for k in IDENTITY}) as child:
                child.set_tags({"status": r["status"]})
                child.log_metrics({k: v for k, v in r.items() if isinstance(v, float) and v == v})
        run.log_metrics(report.headline_metrics(metrics))
        run.log_artifacts(report.write(out, table, sweep.answers, sweep.notes, metrics))
    return metrics


def answer_all(
    params: MiSweepParams, runner: RunnerConfig, predictor: str, items: steps.Items, parts: Parts
) -> dict[str, str]:
    """Every missing cell of `predictor` as its own task on the runner, retried with back-off when
    the engine fails, failed alone after the last try; the cells that failed, with the reason."""
    worker = rooted(params, Path.cwd())  # a Ray worker starts elsewhere: model paths made absolute
    with task_resources(runner):
        futures = {
            parts.answers(cell): answer_cell.with_options(task_run_name=f"cell-{cell.key}").submit(
                worker, cell, items[cell.dataset], parts
            )
            for cell in steps.unanswered(params, predictor, parts)
        }
    return failed(futures, f"predictor {predictor}")


@task(
    name="cell",
    cache_policy=NO_CACHE,
    retries=CELL_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=CELL_BACKOFF_SECONDS),
    retry_jitter_factor=0.5,
    retry_condition_fn=engine_fault,
)
def answer_cell(params: MiSweepParams, cell: Cell, items: list[datasets.Item], parts: Parts) -> None:
    with engine_lock():  # one cell at a time per engine, whatever the thread count
        steps.answer_cell(params, cell, items, parts)
