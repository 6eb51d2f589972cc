"""Flow `report`: one page over every job in `report.jobs` — headline metrics, key table, plots
and summary from each job's committed reports/<job>/ and data/<job>/, linked to its latest
finished MLflow run.

Produces reports/index.md (plots linked) and reports/index.html (one self-contained file: plots
embedded, inline CSS, no scripts; it displays offline), and an MLflow run in experiment `report`
with both as artifacts. A job without reports/<job>/metrics.json shows as "not run yet".

CPU:  infopipe run report   (or `dvc repro report`)
GPU:  the same; it reads results, it runs no model
"""

from pathlib import Path
from typing import Any

from prefect import flow

from tasks import tracking
from tasks.config import load_params
from tasks.io import write_text
from tasks.report import html, markdown, page
from tasks.report.page import Section

JOB = "report"
REPORTS = Path("reports")


@flow(name=JOB)
def report(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Gather, render markdown and HTML, log both."""
    params = load_params(params_file, overrides or [])
    config = params.report
    runs = {job: tracking.latest_finished(job) for job in config.jobs}
    # Sections after the jobs, e.g. Section.from_file("Regressions", REPORTS / "regressions.md").
    extra: list[Section] = []
    built = page.gather(config, runs, extra=extra)
    with tracking.flow_run(JOB, config.model_dump(), {"profile": params.profile}) as run:
        files = [
            write_text(REPORTS / "index.md", markdown.render(built)),
            write_text(REPORTS / "index.html", html.render(built)),
        ]
        run.log_artifacts(files)
    return built.summary()
