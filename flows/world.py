"""Flow `world`: the miniature world of the cpu profile, generated from params (deterministic).

Produces data/world/{documents,entities,facts,questions}.parquet, reports/world/metrics.json and
an MLflow run in experiment `world`.

CPU:  infopipe run world               (or `dvc repro world`)
GPU:  not used: the gpu profile reads Hugging Face datasets.
"""

from typing import Any

from prefect import flow, task

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.outputs import JobOutputs
from tasks.world.build import build_world, summarize
from tasks.world.config import WorldParams

JOB = "world"
PARAMS = WorldParams


@flow(name=JOB)
def world(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    params = read(PARAMS, params_file, overrides)
    out = JobOutputs(JOB)
    with tracking.flow_run(
        JOB, {JOB: params.world.model_dump()}, run_tags(params, engine="none", models=[])
    ) as run:
        tables = task(build_world)(params.world)
        metrics = summarize(tables)
        files = [*out.tables(tables), out.metrics(metrics)]
        run.log_metrics({"entities": metrics["entities"], "distractor_share": metrics["distractor_share"]})
        run.log_artifacts(files)
    return metrics
