"""`infopipe bench models`: wall time to make the self-trained family (tokenizer and every model)
on this machine, into a scratch directory, with the params of the `models` stage."""

import tempfile
import time
from pathlib import Path
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.config import sections
from tasks.models.config import ModelsParams
from tasks.models.family import build_tokenizer, heldout_names, train_member, trained_models
from tasks.params import Params
from tasks.tracking import hardware, library_versions
from tasks.world.build import build_world


def _scratch(params: ModelsParams, root: Path) -> ModelsParams:
    """The same params, writing under `root` instead of data/models."""
    models = {
        name: spec.model_copy(update={"path": str(root / name)}) if spec.train else spec
        for name, spec in params.models.items()
    }
    training = params.training.model_copy(update={"tokenizer": str(root / "tokenizer")})
    return params.model_copy(update={"models": models, "training": training})


@BENCHMARKS.register("models")
def models_bench(params: Params) -> dict[str, Any]:
    exclude = heldout_names(build_world(params.world))
    seconds: dict[str, float] = {}
    members: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-models-") as root:
        local = _scratch(sections(params, ModelsParams), Path(root))
        start = time.perf_counter()
        build_tokenizer(local, exclude)
        seconds["tokenizer"] = time.perf_counter() - start
        for name in trained_models(local):
            begin = time.perf_counter()
            trained = train_member(name, local, exclude)
            seconds[name] = time.perf_counter() - begin
            members[name] = {
                "parameters": trained.parameters,
                "steps": trained.steps,
                "tokens_per_second": trained.tokens / trained.seconds,
                "final_loss": trained.curve[-1]["loss"],
            }
        total = time.perf_counter() - start
    return {
        "train_seconds": total,
        "seconds": seconds,
        "models": members,
        "setup": {"hardware": hardware(), **library_versions()},
    }
