"""Gather what a report page shows: per job its committed results and its latest MLflow run."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tasks.errors import InfopipeError
from tasks.io import read_text
from tasks.outputs import JobOutputs
from tasks.report.config import ReportConfig
from tasks.report.table import Preview, preview

# The table a job's section previews; its other parquet tables are listed with their size.
KEY_TABLES = {
    "compression": "results",
    "entigraph": "answers",
    "mi_sweep": "cells",
    "decoding": "cells",
    "checkpoints": "series",
}
TEXT = 200  # longest string metric shown as a headline
STATUS = {True: "ran, headline met", False: "ran, headline NOT met", None: "ran, no headline rule"}


@dataclass(frozen=True)
class Plot:
    path: Path
    png: bytes

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class Section:
    """A section after the jobs, written in markdown (e.g. reports/regressions.md)."""

    title: str
    markdown: str

    @classmethod
    def from_file(cls, title: str, path: Path) -> "Section":
        if not path.is_file():
            return cls(title, f"`{path.as_posix()}` is not there yet.")
        return cls(title, read_text(path))


@dataclass(frozen=True)
class Job:
    name: str
    reports: Path  # reports/<job>/
    data: Path  # data/<job>/
    metrics: dict[str, Any] | None  # None: the job has not run yet
    run_url: str | None = None  # its latest finished MLflow run
    summary: str | None = None
    plots: list[Plot] = field(default_factory=list)
    key: Preview | None = None
    tables: list[Preview] = field(default_factory=list)  # the others, listed by size
    notes: list[str] = field(default_factory=list)  # what is missing, in words

    @property
    def ran(self) -> bool:
        return self.metrics is not None

    @property
    def headline(self) -> dict[str, Any]:
        return headline(self.metrics or {})

    @property
    def met(self) -> bool | None:
        """Whether the job's headline is met (top level, or in its `headline` map); None: no rule."""
        metrics = self.metrics or {}
        nested = metrics.get("headline")
        met = metrics.get("headline_met", nested.get("headline_met") if isinstance(nested, Mapping) else None)
        return met if isinstance(met, bool) else None

    @property
    def status(self) -> str:
        if self.metrics is None:
            return "not run yet"
        return STATUS[self.met]

    @property
    def badge(self) -> str:
        """The status's colour: green met, red not met, amber not run or no rule."""
        if not self.ran or self.met is None:
            return "missing"
        return "met" if self.met else "unmet"


@dataclass(frozen=True)
class Page:
    title: str
    root: Path  # the reports/ folder the page is written into
    jobs: list[Job]
    extra: list[Section] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "jobs": len(self.jobs),
            "ran": [j.name for j in self.jobs if j.ran],
            "not_run": [j.name for j in self.jobs if not j.ran],
            "no_mlflow_run": [j.name for j in self.jobs if j.run_url is None],
        }


def gather(
    config: ReportConfig,
    runs: Mapping[str, Mapping[str, str] | None],
    root: Path = Path(),
    extra: Sequence[Section] = (),
) -> Page:
    """The page over `config.jobs`; `runs` maps a job to its MLflow run ids (tracking.latest_finished)."""
    jobs = [job(name, root, run_url(config.mlflow_ui, runs.get(name))) for name in config.jobs]
    return Page(config.title, root / "reports", jobs, list(extra))


def job(name: str, root: Path, url: str | None) -> Job:
    out = JobOutputs(name, root)
    metrics = read_metrics(out.reports / "metrics.json")
    notes = [] if metrics is not None else [f"`{_rel(out.reports, root)}/metrics.json` is not there"]
    key, tables = None, []
    if out.data.is_dir():
        found = sorted(out.data.glob("*.parquet"))
        previews = [preview(p) for p in found]
        key = next((t for t in previews if t.path.stem == KEY_TABLES.get(name)), None)
        tables = [t for t in previews if t is not key]
        if key is None:
            notes.append(f"no key table `{KEY_TABLES.get(name, '?')}.parquet` in `{_rel(out.data, root)}/`")
    else:
        notes.append(f"`{_rel(out.data, root)}/` is not here (DVC-cached: `dvc pull` or `dvc repro {name}`)")
    summary = out.reports / "summary.md"
    return Job(
        name=name,
        reports=out.reports,
        data=out.data,
        metrics=metrics,
        run_url=url,
        summary=read_text(summary) if summary.is_file() else None,
        plots=[Plot(p, p.read_bytes()) for p in sorted(out.reports.glob("*.png"))],
        key=None if key is None else replace(key, path=key.path.relative_to(root)),
        tables=[replace(t, path=t.path.relative_to(root)) for t in tables],
        notes=notes,
    )


def read_metrics(path: Path) -> dict[str, Any] | None:
    """A job's metrics.json; None when it is not there; a one-line error when it is not JSON."""
    if not path.is_file():
        return None
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise InfopipeError(str(path), f"not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(data, dict):
        raise InfopipeError(str(path), f"expected a JSON object of metrics, got {type(data).__name__}")
    return data


def headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics a reader looks at first: `headline*` entries, then every other scalar."""
    first: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in metrics.items():
        into = first if key.startswith("headline") else rest
        if isinstance(value, Mapping) and key.startswith("headline"):
            into.update({f"{key}.{k}": v for k, v in value.items() if _scalar(v)})
        elif _scalar(value):
            into[key] = value
    return first | rest


def run_url(ui: str, run: Mapping[str, str] | None) -> str | None:
    if run is None:
        return None
    return f"{ui.rstrip('/')}/#/experiments/{run['experiment_id']}/runs/{run['run_id']}"


def _scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= TEXT)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
