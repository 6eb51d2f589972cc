"""Flow `rl_run`: a real checkpoint series for the cpu profile. GRPO through TRL with a verifiable
reward (exact match on world QA, train split) from a family model, a checkpoint every
`save_every` steps (reference/algorithms.md 4.7: the Entropy Mechanism's recipe, no KL).

train     TRL's GRPOTrainer: checkpoint-0 (the starting policy), checkpoint-<step>/ every
          save_every steps, each with TRL's trainer_state.json (step, training metrics)
report    training reward and policy entropy per step, wall time

The series is written beside its final place and renamed there when training ends: a killed
run leaves no half series for stage `checkpoints` to read.

Produces data/rl_run/checkpoints/, reports/rl_run/{metrics.json, reward.json, reward.png} and an
MLflow run in experiment `rl_run` with the training curves (metric step = training step).

CPU:  infopipe run rl_run   (or `dvc repro rl_run`; needs stages world and models)
GPU:  bring your own checkpoints: stage `checkpoints` reads any series (checkpoints.series)
"""

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.outputs import JobOutputs
from tasks.rl_run import grpo, history
from tasks.rl_run.config import RlRunParams
from tasks.rl_run.series import train_series

JOB = "rl_run"
PARAMS = RlRunParams
train = task(name="train", cache_policy=NO_CACHE)(train_series)


@flow(name=JOB)
def rl_run(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Train, report."""
    params = read(PARAMS, params_file, overrides)
    config = params.rl_run
    out = JobOutputs(JOB)
    grpo.arguments(config, out.data / "checkpoints")  # a bad rl_run.trl fails here
    tags = run_tags(params, engine="trl", models=[config.model])
    with tracking.flow_run(JOB, config.model_dump(), tags) as run:
        log, seconds = train(params, out.data / "checkpoints")
        steps = history.steps(log)
        for row in steps:
            run.log_metrics({k: v for k, v in row.items() if k != "step"}, step=int(row["step"]))
        metrics = history.metrics(steps, config, seconds)
        files = [out.metrics(metrics), *out.plot("reward", steps, "step", "reward", "GRPO training reward")]
        run.log_metrics({k: v for k, v in metrics.items() if isinstance(v, float)})
        run.log_artifacts(files)
    return metrics
