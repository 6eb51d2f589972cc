"""Flow `generate`: completions with per-token log-probs and entropy for a prompt set.

Produces data/generate/generations.parquet, reports/generate/{metrics.json, entropy.json,
entropy.png} and an MLflow run in experiment `generate`. It is the template job flows follow.

CPU:  infopipe run generate            (or `dvc repro generate`)
GPU:  infopipe run generate --params params.gpu.yaml
"""

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.config import config_hash
from tasks.engines import open_engine
from tasks.generate.config import GenerateParams
from tasks.generate.generation import (
    entropy_by_position,
    generate_timed,
    generation_table,
    read_prompts,
    summarize,
)
from tasks.outputs import JobOutputs

JOB = "generate"
PARAMS = GenerateParams
load_prompts = task(read_prompts)
run_generation = task(cache_policy=NO_CACHE)(generate_timed)  # the engine is not hashable


@flow(name=JOB)
def generate(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, float]:
    params = read(PARAMS, params_file, overrides)
    config = params.generate
    prompts = load_prompts(config)
    out = JobOutputs(JOB)
    spec = params.models[config.model]
    tracked = {JOB: config.model_dump(), "engine": params.engine.model_dump(), "model": spec.model_dump()}
    engine = open_engine(params, config.model)
    with tracking.flow_run(
        JOB, tracked, run_tags(params, engine=engine.backend, models=[config.model])
    ) as run:
        generations, seconds = run_generation(engine, prompts, config)
        table = generation_table(
            prompts,
            generations,
            model=config.model,
            engine=engine.backend,
            config_hash=config_hash(config, spec, params.engine),
        )
        metrics = summarize(table, seconds)
        files = [
            out.table("generations", table),
            out.metrics(metrics),
            *out.plot(
                "entropy",
                entropy_by_position(generations),
                "position",
                "entropy",
                f"next-token entropy, {config.model} ({engine.backend})",
            ),
        ]
        run.log_metrics(metrics)
        run.log_artifacts(files)
    return metrics
