"""`infopipe bench models`: seconds to train the self-trained family (tokenizer and every member) on
this machine, alone, with the params of the `models` stage, into a scratch directory.

A member's training time is steps x seconds a step, and a step's cost depends only on the phase
(what its samples hold), so by default each phase is timed on `bench.models.sample_steps` steps
through the real train loop and projected to the member's step budget; `sample_steps: null` trains
every step instead (the stage's full cost, without its held-out scoring)."""

import tempfile
import time
from pathlib import Path
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.config import sections
from tasks.models.config import ModelsParams
from tasks.models.family import build_tokenizer, heldout_names, train_member, trained_models
from tasks.models.train import phase_ends
from tasks.params import Params
from tasks.tracking import hardware, library_versions
from tasks.world.build import build_world


def _scratch(params: ModelsParams, root: Path) -> ModelsParams:
    """The same params, writing under `root` instead of data/models, with no checkpoints."""
    models = {
        name: spec.model_copy(update={"path": str(root / name)}) if spec.train else spec
        for name, spec in params.models.items()
    }
    training = params.training.model_copy(update={"tokenizer": str(root / "tokenizer"), "checkpoints": 0})
    return params.model_copy(update={"models": models, "training": training})


def _only_phase(params: ModelsParams, name: str, phase: int, steps: int) -> ModelsParams:
    """`params` with member `name` trained for `steps` steps of one phase."""
    training = params.training.model_copy(
        update={"phases": [params.training.phases[phase].model_copy(update={"share": 1.0})]}
    )
    spec = params.models[name]
    assert spec.train
    member = spec.model_copy(update={"train": spec.train.model_copy(update={"steps": steps})})
    return params.model_copy(update={"training": training, "models": {**params.models, name: member}})


def sampled_member(params: ModelsParams, name: str, exclude: set[str], sample_steps: int) -> dict[str, Any]:
    """Seconds a step in each phase (timed on `sample_steps` steps) and the member's projected seconds."""
    spec = params.models[name]
    assert spec.train
    ends = phase_ends(params.training, spec.train.steps)
    phases, seconds, tokens = [], 0.0, 0.0
    for i, (begin, end) in enumerate(zip([0, *ends[:-1]], ends, strict=True)):
        trained = train_member(name, _only_phase(params, name, i, sample_steps), exclude)
        per_step = trained.seconds / trained.steps
        phases.append(
            {
                "steps": end - begin,
                "seconds_per_step": per_step,
                "tokens_per_step": trained.tokens / trained.steps,
            }
        )
        seconds += per_step * (end - begin)
        tokens += trained.tokens / trained.steps * (end - begin)
    return {
        "parameters": trained.parameters,
        "steps": spec.train.steps,
        "seconds": seconds,
        "tokens_per_second": tokens / seconds,
        "phases": phases,
    }


def full_member(params: ModelsParams, name: str, exclude: set[str]) -> dict[str, Any]:
    begin = time.perf_counter()
    trained = train_member(name, params, exclude)
    return {
        "parameters": trained.parameters,
        "steps": trained.steps,
        "seconds": time.perf_counter() - begin,
        "tokens_per_second": trained.tokens / trained.seconds,
        "final_loss": trained.curve[-1]["loss"],
    }


@BENCHMARKS.register("models")
def models_bench(params: Params) -> dict[str, Any]:
    sample_steps = params.bench.models.sample_steps
    exclude = heldout_names(build_world(params.world))
    with tempfile.TemporaryDirectory(prefix="bench-models-") as root:
        local = _scratch(sections(params, ModelsParams), Path(root))
        start = time.perf_counter()
        build_tokenizer(local, exclude)
        seconds = {"tokenizer": time.perf_counter() - start}
        members = {
            name: sampled_member(local, name, exclude, sample_steps)
            if sample_steps
            else full_member(local, name, exclude)
            for name in trained_models(local)
        }
    seconds.update({name: member["seconds"] for name, member in members.items()})
    return {
        "train_seconds": sum(seconds.values()),
        "method": f"projected from {sample_steps} timed steps a phase"
        if sample_steps
        else "every step trained",
        "threads": local.training.threads,
        "precision": local.training.precision,
        "seconds": seconds,
        "models": members,
        "setup": {"hardware": hardware(), **library_versions()},
    }
