"""Flow `nightly`: every stage and job of one profile, in dependency order, then the report.

stages   world, corpus, models, rl_run: what the jobs read; a failing stage stops the night
jobs     compression, entigraph, mi_sweep, decoding, checkpoints: a failing job is logged with
         its reason and the other jobs still run
report   the page over every job, from whatever the jobs wrote

Each step is a subflow, its own run in the UI, found by name in flows.cli.FLOWS. The night fails
at the end, naming every failed job in one line.

CPU:  infopipe run nightly
GPU:  deployment `nightly` of prefect.yaml, 02:00 UTC on work pool `gpu` (params.gpu.yaml), or
      infopipe run nightly --params params.gpu.yaml
"""

from typing import Any

from prefect import flow, get_run_logger

from flows.cli import flow_module
from flows.runtime import task_runner
from tasks.errors import InfopipeError, first_line
from tasks.params import Params, load_params

STAGES = ["world", "corpus", "models", "rl_run"]
JOBS = ["compression", "entigraph", "mi_sweep", "decoding", "checkpoints", "report"]
PARAMS = Params  # every section: a typo fails before hours of stages


@flow(name="nightly")
def nightly(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, list[str]]:
    """Stages, then every job whatever the others do, then fail if any job failed."""
    params = load_params(params_file, overrides or [])  # a typo fails now, not after hours of stages
    for stage in STAGES:
        step(stage, params)(params_file=params_file, overrides=overrides)
    failed = [job for job in JOBS if not attempt(step(job, params), job, params_file, overrides)]
    if failed:
        raise InfopipeError("nightly", f"failed jobs: {', '.join(failed)} (see their flow runs)")
    return {"completed": STAGES + JOBS}


def attempt(job_flow: Any, job: str, params_file: str, overrides: list[str] | None) -> bool:
    """Run one job; False, with the reason logged, if it failed."""
    try:
        job_flow(params_file=params_file, overrides=overrides)
    except Exception as err:  # one job's failure is not the night's: the others still run
        get_run_logger().error("job %s failed: %s", job, first_line(err))
        return False
    return True


def step(name: str, params: Params) -> Any:
    """The flow of a stage or job (flows.cli.FLOWS) on the task runner of params.runner (threads,
    or Ray on a cluster), imported when it is reached."""
    return getattr(flow_module(name), name).with_options(task_runner=task_runner(params.runner))
