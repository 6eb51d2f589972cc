"""Flow `checkpoints`: evaluate a series of RL checkpoints — policy entropy, accuracy, pass@k,
high window-entropy share, Entropy Production Rate, response length — and fit the
entropy-performance law R = -a exp(H) + b across it (reference/algorithms.md 4.7, 4.8, 4.10).

series    the checkpoints of a directory (default: stage rl_run's) or of a list, in step order
rollouts  per checkpoint, `samples` completions of every prompt at temperature 1 through the
          engine, which returns each token's full-vocabulary entropy (every log-prob kept),
          each completion checked by the verifier
report    one row per checkpoint, the law's fit (and the fit on the first half predicting the
          second), plots entropy/reward by step and reward against entropy with the fit

Each checkpoint's rollouts are a part (data/checkpoints/parts/): a rerun does only the missing
ones. A series of one checkpoint, or one whose rewards are NaN, is evaluated and reported with
the reason it has no fit.

Produces data/checkpoints/{parts/, rollouts.parquet, series.parquet},
reports/checkpoints/{metrics.json, summary.md, entropy.json, reward.json, *.png, law/} and an
MLflow run in experiment `checkpoints` with a child run per checkpoint whose metrics are logged
at the checkpoint's step, so the UI draws them as curves.

CPU:  infopipe run checkpoints   (or `dvc repro checkpoints`; needs stage rl_run)
GPU:  point checkpoints.series (or checkpoints.checkpoints) at your own RL run's checkpoints
"""

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.checkpoints import prompts, report, rollout, series
from tasks.checkpoints.config import CheckpointsParams
from tasks.config import config_hash
from tasks.deps import made_by
from tasks.engines import close_engines
from tasks.outputs import JobOutputs
from tasks.parts import PartStore

JOB = "checkpoints"
PARAMS = CheckpointsParams
roll = task(name="rollouts", cache_policy=NO_CACHE)(rollout.evaluate_part)


@flow(name=JOB)
def checkpoints(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Series, rollouts, report."""
    params = read(PARAMS, params_file, overrides)
    config = params.checkpoints
    out = JobOutputs(JOB)
    found = series.discover(config)
    items = prompts.load(config.dataset, "heldout", config.kinds, config.prompts, config.seed)
    made = config_hash(config, params.engine, params.models[config.like])
    store = PartStore(out.data / "parts", made_by(made, JOB))
    keys = [f"step-{c.step}-{series.fingerprint(c)}" for c in found]
    tags = run_tags(params, engine=params.engine.backend, models=[config.like]) | {
        "series": str(config.series)
    }
    with tracking.flow_run(JOB, config.model_dump(), tags) as run:
        for c, key in zip(found, keys, strict=True):
            if not store.done(key):
                roll.with_options(task_run_name=f"rollouts-step-{c.step}")(
                    params, c, items, config, store, key
                )
        close_engines()
        store.prune(keys)

        rollouts, table, metrics = report.assemble(store, keys, config)
        for row in table.iter_rows(named=True):
            with run.child(f"step-{row['step']}", {"step": row["step"]}) as child:
                child.log_metrics({k: v for k, v in row.items() if report.number(v)}, step=row["step"])
        run.log_metrics({k: v for k, v in metrics.items() if report.number(v)})
        run.log_artifacts(report.write(out, rollouts, table, metrics, config))
    return metrics
