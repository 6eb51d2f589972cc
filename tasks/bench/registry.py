"""The benchmark registry: a name -> function(params) -> figures (JSON-able dict)."""

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.params import Params
from tasks.registry import Registry

Benchmark = Callable[[Params], dict[str, Any]]
BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def user_env() -> dict[str, str]:
    """A user's shell for the `infopipe` and `dvc` subprocesses a benchmark starts: this interpreter's
    bin first on PATH, this checkout importable, and not the caller's Prefect server or home or
    MLflow store (each working directory gets its own, as a user's would)."""
    own = ("MLFLOW_", "PREFECT_API", "PREFECT_HOME", "PREFECT_RESULTS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    checkout = str(Path(__file__).resolve().parents[2])
    return {**env, "PATH": path, "PYTHONPATH": checkout, "PYTHONUNBUFFERED": "1"}
