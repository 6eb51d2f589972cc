import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ..conftest import ROOT

# A micro world and family: what every job's flow test reads from stages world and models.
FAMILY = ["world-s", "world-m"]
MICRO = [
    "world.train.organisations=20",
    "world.heldout.organisations=4",
    "training.vocab_size=400",
    "training.tokenizer_documents=100",
    "training.checkpoints=4",  # world-s: steps 2, 5, 8, 10 (a series for stage checkpoints)
    "training.log_every=5",
    "training.eval_documents=3",
    "models.world-s.train.steps=10",
    "models.world-m.train.steps=12",
    "models.world-m.train.hidden=128",
    "models.world-m.train.head_dim=64",
    "models.world-s.max_model_len=1024",  # the micro vocabulary makes prompts long
    "models.world-m.max_model_len=1024",
]


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


@pytest.fixture(scope="session")
def family(tmp_path_factory, prefect_harness):
    """The micro world and family, made once per session by the real flows (world stage first):
    (its directory, the models flow's metrics, its MLflow runs)."""
    from flows.models import models
    from flows.world import world
    from tasks import tracking

    workdir = tmp_path_factory.mktemp("family")
    with fresh_workdir(workdir):
        params_file = str(ROOT / "params.yaml")
        world(params_file=params_file, overrides=MICRO)
        metrics = models(params_file=params_file, overrides=MICRO, only=FAMILY)
        return workdir, metrics, tracking.search("models")


def with_family(family: tuple[Path, object, object], workdir: Path) -> None:
    """The session's micro world and family in `workdir`, as stages world and models wrote them."""
    for part in ("data/world", "data/models"):
        shutil.copytree(family[0] / part, workdir / part)
