"""Resolve a named model of params.yaml to something a backend can load (a directory or an HF id)."""

import importlib.util
from pathlib import Path
from typing import TypeVar

from tasks.config import EngineParams, ModelSpec
from tasks.errors import InfopipeError

P = TypeVar("P", bound=EngineParams)


def package_dir(ref: str, where: str) -> Path:
    """`pkg` or `pkg/sub/dir` -> the installed package's directory (no import of the package)."""
    name, _, sub = ref.partition("/")
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise InfopipeError(where, f"Python package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / sub


def model_spec(params: EngineParams, name: str) -> ModelSpec:
    if name not in params.models:
        known = ", ".join(sorted(params.models))
        raise InfopipeError("models", f"unknown model {name!r} (known: {known})")
    return params.models[name]


def resolve(name: str, spec: ModelSpec) -> str:
    """A loadable source: an existing local directory, or a Hugging Face id (gpu profile)."""
    if spec.hf_id:
        return spec.hf_id
    where = f"models.{name}.{'path' if spec.path else 'package'}"
    local = Path(spec.path) if spec.path else package_dir(spec.package or "", where)
    if not (local / "config.json").is_file():
        hint = "; run `dvc repro models` to build it" if spec.build else ""
        raise InfopipeError(where, f"no model at {local} (config.json missing){hint}")
    return str(local.resolve())


def rooted(params: P, root: Path) -> P:
    """`params` with every relative model path made absolute under `root`, for a worker that runs
    elsewhere (a Ray worker starts in its own directory)."""
    models = {
        name: spec.model_copy(update={"path": str(root / spec.path)})
        if spec.path and not Path(spec.path).is_absolute()
        else spec
        for name, spec in params.models.items()
    }
    return params.model_copy(update={"models": models})
