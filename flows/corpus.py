"""Flow `corpus`: real prose (Jane Austen's novels, Reuters news) from Debian packages, chunked.

Produces data/corpus/{documents,chunks}.parquet, reports/corpus/metrics.json and an MLflow run
in experiment `corpus`. Without the packages (no apt-get) it says so in one line per source and
writes what it has.

CPU:  infopipe run corpus              (or `dvc repro corpus`)
GPU:  not used: the gpu profile reads Hugging Face datasets.
"""

from typing import Any

from prefect import flow, task

from flows.params import read
from flows.runtime import run_tags
from tasks import tracking
from tasks.corpus.build import build_corpus
from tasks.corpus.config import CorpusParams
from tasks.outputs import JobOutputs

JOB = "corpus"
PARAMS = CorpusParams


@flow(name=JOB)
def corpus(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    params = read(PARAMS, params_file, overrides)
    out = JobOutputs(JOB)
    with tracking.flow_run(
        JOB, {JOB: params.corpus.model_dump()}, run_tags(params, engine="none", models=[])
    ) as run:
        frames, metrics = task(build_corpus)(params.corpus)
        files = [*out.tables(frames), out.metrics(metrics)]
        run.log_metrics(
            {f"{source}.words": m["words"] for source, m in metrics.items() if isinstance(m, dict)}
        )
        run.set_tags({"skipped": ",".join(metrics["skipped"]) or "none"})
        run.log_artifacts(files)
    return metrics
