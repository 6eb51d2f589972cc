"""Flow `report`: one page over every job in `report.jobs` — headline metrics, key table, plots
and summary from each job's committed reports/<job>/ and data/<job>/, linked to its latest
finished MLflow run.

Produces reports/index.md (plots linked) and reports/index.html (one self-contained file: plots
embedded, inline CSS, no scripts; it displays offline), reports/regressions.md (each job's latest
run against its last successful run of the profile: what moved beyond its 95% interval, also set as
the run's MLflow tag `regressions`), and an MLflow run in experiment `report` with all three.
A job without reports/<job>/metrics.json shows as "not run yet".

CPU:  infopipe run report   (or `dvc repro report`)
GPU:  the same; it reads results, it runs no model
"""

from pathlib import Path
from typing import Any

from prefect import flow

from flows.params import read
from tasks import regressions, tracking
from tasks.io import write_text
from tasks.report import html, markdown, page
from tasks.report.config import ReportParams
from tasks.report.page import Section

JOB = "report"
PARAMS = ReportParams
REPORTS = Path("reports")


@flow(name=JOB)
def report(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict[str, Any]:
    """Check for regressions; gather, render markdown and HTML; log them."""
    params = read(PARAMS, params_file, overrides)
    config = params.report
    runs = {job: tracking.latest_finished(job) for job in config.jobs}
    checks = [regressions.check(job, tracking.finished_runs(job, params.profile)) for job in config.jobs]
    write_text(REPORTS / "regressions.md", regressions.markdown(checks, params.profile))
    for check in checks:
        if check.run_id and check.baseline_id:
            tracking.set_run_tags(check.run_id, {"regressions": check.tag()})
    extra = [Section.from_file("Regressions", REPORTS / "regressions.md")]
    built = page.gather(config, runs, extra=extra)
    with tracking.flow_run(JOB, config.model_dump(), {"profile": params.profile}) as run:
        files = [
            write_text(REPORTS / "index.md", markdown.render(built)),
            write_text(REPORTS / "index.html", html.render(built)),
            REPORTS / "regressions.md",
        ]
        run.log_artifacts(files)
    return built.summary()
