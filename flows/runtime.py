"""Process-wide defaults for running flows: Prefect's home and logging, provenance tags."""

import logging
import os
from pathlib import Path

from tasks.config import Params
from tasks.errors import InfopipeError


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


def run_tags(params: Params, *, engine: str, models: list[str]) -> dict[str, str]:
    return {"profile": params.profile, "engine": engine, "models": ",".join(models)}
