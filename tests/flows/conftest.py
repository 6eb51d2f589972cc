from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _harness(prefect_harness):
    """Every flow test runs against the session's Prefect test harness."""
    yield


@contextmanager
def fresh_workdir(path: Path) -> Iterator[Path]:
    """Run a module's flows in `path`: its own data/, reports/ and MLflow store."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(path)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield path
