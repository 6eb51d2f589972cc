"""Flow `mi_sweep`: compressor x predictor sweeps with a mutual-information estimate (He et al.
2025, arXiv 2512.21720; reference/algorithms.md Job 3).

compress   each compressor writes question-focused notes Z for every context X and question Q
           of every dataset, at every budget (sampled: MI needs stochastic compressions)
score      log p(z | x_j, q) of each Z under its own and M other contexts (the compressor itself
           or a fixed proxy scorer), one batch per compression, prefix-cached
answer     per cell (dataset x compressor x predictor x budget) the predictor answers from
           (Z, Q); exact match, F1 and accuracy with a 95% CI
estimate   registered MI estimators (tasks/mi/): nats, bits, bits per token, bootstrap CI;
           FLOPs per cell; validation on channels of known MI
report     the sweep table, Spearman rho, scaling the compressor vs the predictor, plots

Every compression, score table and cell is a part (data/mi_sweep/parts/): a rerun does only the
missing ones. A model that fails to load or a prompt that does not fit makes failed cells,
recorded with their reason; the rest of the sweep completes.

Produces data/mi_sweep/{parts/, cells.parquet, answers.parquet, notes.parquet},
reports/mi_sweep/{metrics.json, summary.md, accuracy_vs_mi/, bits_per_token/, rate_distortion/,
scaling/, *.png} and an MLflow run in experiment `mi_sweep` with a child run per cell.

CPU:  infopipe run mi_sweep   (or `dvc repro mi_sweep`; needs stages world and models)
GPU:  the same with params.gpu.yaml (Qwen2.5 compressors and predictors, JSONL QA sets)
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.runtime import engine_lock, run_tags, task_resources
from tasks import tracking
from tasks.config import Params, config_hash, load_params
from tasks.engines import Engine, close_engines, open_engine
from tasks.errors import InfopipeError
from tasks.io import write_text
from tasks.mi import cost, datasets, report
from tasks.mi.compress import compress
from tasks.mi.predict import answer
from tasks.mi.scoring import score_notes
from tasks.mi.sweep import Cell, Compression, Parts, assemble, compressions, grid
from tasks.outputs import JobOutputs
from tasks.parts import PartStore

JOB = "mi_sweep"
Items = dict[str, list[datasets.Item]]  # per dataset
IDENTITY = ("dataset", "compressor", "predictor", "budget")
write_notes = task(name="compress", cache_policy=NO_CACHE, task_run_name="compress-{budget}")(compress)
score = task(name="score", cache_policy=NO_CACHE)(score_notes)
CELL_RETRIES = 2  # an engine that dies mid-cell is reopened and the cell retried
CELL_BACKOFF_SECONDS = 10.0  # 10 s, then 20 s (+-50% jitter)


@flow(name=JOB, task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=1)))  # CLI: params.runner
def mi_sweep(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Compress, score, answer, estimate, report."""
    params = load_params(params_file, overrides or [])
    config = params.mi_sweep
    out = JobOutputs(JOB)
    items = {d: datasets.load(config, d) for d in config.datasets}
    settings = config.model_copy(update={"compressors": [], "predictors": [], "budgets": [], "datasets": []})
    parts = Parts(params, PartStore(out.data / "parts", config_hash(settings, params.engine)))
    models = sorted({*config.compressors, *config.predictors} | ({config.scorer} - {"compressor"}))
    tags = run_tags(params, engine=params.engine.backend, models=models)
    failures: dict[str, str] = {}  # part key -> why it is missing
    with tracking.flow_run(JOB, config.model_dump(), tags) as run:
        for compressor in config.compressors:
            compress_all(params, compressor, items, parts, failures)
        if config.scorer != "compressor":
            score_all(params, config.scorer, compressions(config), items, parts, failures)
        for predictor in config.predictors:
            answer_all(params, predictor, items, parts, failures)
        close_engines()
        parts.store.prune(parts.all(config))

        parameters = {m: n for m in models if (n := cost.parameters(params, m)) is not None}
        table, answers, notes = assemble(config, parts, failures, parameters)
        metrics = report.metrics(table, parameters, report.known_mi())
        for r in table.iter_rows(named=True):
            with run.child(r["cell"], {k: r[k] for k in IDENTITY}) as child:
                child.set_tags({"status": r["status"]})
                child.log_metrics({k: v for k, v in r.items() if isinstance(v, float) and v == v})
        files = [
            *out.tables({"cells": table, "answers": answers, "notes": notes}),
            out.metrics(metrics),
            write_text(out.reports / "summary.md", report.summary(metrics, table)),
        ]
        series = report.curves(table, metrics)
        for name, x, y, title, scale, scatter in PLOTS:
            files += out.curves(name, series[name], x, y, title, xscale=scale, markers_only=scatter)
        run.log_metrics(report.headline_metrics(metrics))
        run.log_artifacts(files)
    return metrics


PLOTS = [
    ("accuracy_vs_mi", "mi_bits", "accuracy", "accuracy vs I(X;Z|Q) per cell", "linear", True),
    ("bits_per_token", "compressor_parameters", "bits_per_token", "bits per notes token", "log", False),
    ("rate_distortion", "mi_bits", "distortion", "rate (bits) vs distortion (1 - accuracy)", "linear", True),
    ("scaling", "parameters", "accuracy", "scaling the compressor vs the predictor", "log", False),
]


def _engine(params: Params, model: str, keys: Sequence[str], failures: dict[str, str]) -> Engine | None:
    """The model's engine, or None with every part it would make recorded as failed."""
    try:
        return open_engine(params, model)
    except Exception as err:  # a model that fails to load fails its cells, not the sweep
        for key in keys:
            failures[key] = (
                f"{model} failed to load: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
            )
        return None


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _record(key: str, failures: dict[str, str], err: Exception) -> None:
    failures[key] = _first_line(err)


def compress_all(
    params: Params,
    compressor: str,
    items: Items,
    parts: Parts,
    failures: dict[str, str],
) -> None:
    config = params.mi_sweep
    own_scorer = config.scorer == "compressor"
    todo = [
        c
        for c in compressions(config)
        if c.compressor == compressor
        and not (parts.store.done(parts.notes(c)) and (not own_scorer or parts.store.done(parts.scores(c))))
    ]
    if not todo:
        return
    keys = [parts.notes(c) for c in todo] + ([parts.scores(c) for c in todo] if own_scorer else [])
    engine = _engine(params, compressor, keys, failures)
    if engine is None:
        return
    for c in todo:
        try:
            if not parts.store.done(parts.notes(c)):
                parts.store.write(parts.notes(c), write_notes(engine, items[c.dataset], c.budget, config))
        except Exception as err:  # e.g. a context longer than the compressor's window
            _record(parts.notes(c), failures, err)
            continue
        if own_scorer:
            score_all(params, compressor, [c], items, parts, failures, engine)


def score_all(
    params: Params,
    scorer: str,
    todo: Sequence[Compression],
    items: Items,
    parts: Parts,
    failures: dict[str, str],
    engine: Engine | None = None,
) -> None:
    todo = [c for c in todo if parts.store.done(parts.notes(c)) and not parts.store.done(parts.scores(c))]
    if todo and engine is None:
        engine = _engine(params, scorer, [parts.scores(c) for c in todo], failures)
    if engine is None:
        return
    for c in todo:
        try:
            notes = parts.store.read(parts.notes(c))
            own = params.mi_sweep.scorer == "compressor"
            parts.store.write(parts.scores(c), score(engine, items[c.dataset], notes, params.mi_sweep, own))
        except Exception as err:  # e.g. an empty compression under a proxy scorer
            _record(parts.scores(c), failures, err)


def answer_all(
    params: Params,
    predictor: str,
    items: Items,
    parts: Parts,
    failures: dict[str, str],
) -> None:
    """Every missing cell of `predictor` as its own task: on the runner of params (threads here,
    Ray on a cluster), retried with back-off when the engine fails, failed alone after the last try."""
    cells = [
        cell
        for cell in grid(params.mi_sweep)
        if cell.predictor == predictor
        and parts.store.done(parts.notes(cell.compression))
        and not parts.store.done(parts.answers(cell))
    ]
    root = str(Path.cwd())
    with task_resources(params):
        futures = {
            parts.answers(cell): answer_part.with_options(task_run_name=f"cell-{cell.key}").submit(
                params, cell, items[cell.dataset], parts, root
            )
            for cell in cells
        }
    for key, future in futures.items():
        try:
            future.result()
        except InfopipeError as err:  # the model did not load, or the notes do not fit its window
            failures[key] = str(err)
        except Exception as err:  # the engine failed on every try
            failures[key] = f"predictor {predictor}: {_first_line(err)}"


def _engine_fault(task: Any, run: Any, state: Any) -> bool:
    """Retry what a fresh engine may fix; bad input (InfopipeError) fails at once."""
    try:
        state.result()
    except InfopipeError:
        return False
    except Exception:
        return True
    return False


@task(
    name="cell",
    cache_policy=NO_CACHE,
    retries=CELL_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=CELL_BACKOFF_SECONDS),
    retry_jitter_factor=0.5,
    retry_condition_fn=_engine_fault,
)
def answer_part(params: Params, cell: Cell, items: list[datasets.Item], parts: Parts, root: str) -> None:
    """Answer one cell from its stored notes and store the answers part (atomically)."""
    os.chdir(root)  # a Ray worker starts elsewhere; paths of params are relative to the checkout
    config = params.mi_sweep
    with engine_lock():  # one cell at a time per engine, whatever the thread count
        try:
            engine = open_engine(params, cell.predictor)
        except Exception as err:
            raise InfopipeError(cell.predictor, f"failed to load: {_first_line(err)}") from None
        notes = parts.store.read(parts.notes(cell.compression))
        by_id = {item.item_id: item for item in items}
        try:
            rows = answer(engine, by_id, notes, config.predictor_prompt, config.answer_tokens)
        except InfopipeError as err:
            raise InfopipeError(f"predictor {cell.predictor}", str(err)) from None
        except Exception:
            close_engines(params.engine.backend)  # the retry opens a fresh engine
            raise
    parts.store.write(parts.answers(cell), rows)
