"""Section `report` of params.yaml: the page over every job (stage `report`)."""

from pydantic import model_validator

from tasks.config import StageParams, Strict

JOBS = ("compression", "entigraph", "mi_sweep", "decoding", "checkpoints")  # the four kinds of job


class ReportConfig(Strict):
    """Stage `report`: reports/index.md and one self-contained HTML page over every job, linked to
    its MLflow run, and reports/regressions.md (each job against its last successful run)."""

    title: str = "infopipe report"
    jobs: list[str] = list(JOBS)
    mlflow_ui: str = "http://127.0.0.1:5000"  # where run links point (`make ui` serves there)

    @model_validator(mode="after")
    def _known_jobs(self) -> "ReportConfig":
        unknown = [j for j in self.jobs if j not in JOBS]
        if unknown:
            raise ValueError(f"jobs: unknown job {unknown[0]!r} (known: {', '.join(JOBS)})")
        return self


class ReportParams(StageParams):
    report: ReportConfig = ReportConfig()
