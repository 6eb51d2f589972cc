"""Flow `corpus`: real prose (Jane Austen's novels, Reuters news) from Debian packages, chunked.

Produces data/corpus/{documents,chunks}.parquet and reports/corpus/metrics.json. Without the
packages (no apt-get) it says so in one line per source and writes what it has.

CPU:  infopipe run corpus              (or `dvc repro corpus`)
GPU:  not used: the gpu profile reads Hugging Face datasets.
"""

from typing import Any

from prefect import flow, task

from tasks.config import load_params
from tasks.corpus.build import build_corpus
from tasks.outputs import JobOutputs

JOB = "corpus"


@flow(name=JOB)
def corpus(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    params = load_params(params_file, overrides or [])
    out = JobOutputs(JOB)
    frames, metrics = task(build_corpus)(params.corpus)
    for name, frame in frames.items():
        out.table(name, frame)
    out.metrics(metrics)
    return metrics
