"""Process-wide defaults for running flows: Prefect's home and logging, provenance tags, the task
runner that fans out sweep cells (threads here, Ray on a cluster)."""

import logging
import os
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from tasks.config import RunnerConfig, StageParams
from tasks.errors import InfopipeError, first_line


def configure(root: Path | None = None) -> None:
    home = (root or Path.cwd()) / ".prefect"
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(home / "storage"))
    # Telemetry on a fresh SQLite DB logs spurious "database is locked" tracebacks (stack.md).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class _UserErrorFilter(logging.Filter):
    """Drop Prefect's tracebacks for InfopipeError: the CLI reports those in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InfopipeError) and "InfopipeError" not in record.getMessage()


def quiet_user_errors() -> None:
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()  # later set-ups are incremental and keep these handlers
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(_UserErrorFilter())


class RunnerParams(StageParams):
    """Section `runner`: where a flow run's fan-out tasks run (not a stage's DVC param: results
    are the same on any runner)."""

    runner: RunnerConfig = RunnerConfig()


def run_tags(params: StageParams, *, engine: str, models: list[str]) -> dict[str, str]:
    return {"profile": params.profile, "engine": engine, "models": ",".join(models)}


def task_runner(runner: RunnerConfig) -> Any:
    """The task runner of section `runner`: Prefect's thread pool, or Ray through prefect-ray (the one
    module that imports it). A local Ray instance gets `workers` CPUs and this process's environment."""
    from prefect.task_runners import ThreadPoolTaskRunner

    if runner.kind == "threads":
        return ThreadPoolTaskRunner(max_workers=runner.workers)
    try:
        from prefect_ray import RayTaskRunner
    except ImportError:
        raise InfopipeError("runner.kind", "ray needs prefect-ray (pip install prefect-ray)") from None
    if runner.address:
        return RayTaskRunner(address=runner.address)
    env = {k: v for k, v in os.environ.items() if k.startswith(("PREFECT_", "VLLM_", "HF_", "OMP_"))}
    init = {"num_cpus": runner.workers, "include_dashboard": False, "runtime_env": {"env_vars": env}}
    return RayTaskRunner(init_kwargs=init)


def task_resources(runner: RunnerConfig) -> AbstractContextManager[Any]:
    """Ray resources of each task submitted inside (one GPU per cell on a GPU cluster)."""
    if runner.kind != "ray":
        return nullcontext()
    from prefect_ray.context import remote_options

    return remote_options(num_cpus=1, num_gpus=runner.gpus_per_task)


_ENGINE_LOCK = threading.Lock()


def engine_lock() -> threading.Lock:
    """This process's lock around its engines: engines are not thread-safe (a Ray worker has its own)."""
    return _ENGINE_LOCK


def engine_fault(task: Any, run: Any, state: Any) -> bool:
    """A retry condition: retry what a fresh engine may fix; bad input (InfopipeError) fails at once."""
    try:
        state.result()
    except InfopipeError:
        return False
    except Exception:
        return True
    return False


def failed(futures: Mapping[str, Any], who: str) -> dict[str, str]:
    """Wait for keyed task futures; the keys whose task failed, with the reason: bad input as it
    was said, any other error (after the task's last try) in one line after `who`."""
    failures = {}
    for key, future in futures.items():
        try:
            future.result()
        except InfopipeError as err:
            failures[key] = str(err)
        except Exception as err:
            failures[key] = f"{who}: {first_line(err)}"
    return failures
