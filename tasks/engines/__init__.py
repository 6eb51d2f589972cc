"""Inference engines behind one interface, registered by backend name (vllm, hf, dummy).

Engines are shared within a process: loading is slow (vLLM ~15 s on two cores), so every task
of a flow run, and every flow run of a process, reuses the engine of the same model and settings.
"""

from tasks.catalog import model_spec
from tasks.config import EngineParams, config_hash
from tasks.engines import dummy_engine, hf_engine, vllm_engine  # noqa: F401 - register backends
from tasks.engines.base import Engine, Generation
from tasks.engines.registry import ENGINES

__all__ = ["ENGINES", "Engine", "Generation", "close_engines", "open_engine"]

_LIVE: dict[tuple[str, str, str], Engine] = {}


def open_engine(params: EngineParams, model: str, backend: str | None = None) -> Engine:
    """The engine for `model` of params.yaml on `backend` (default: params.engine.backend)."""
    name = backend or params.engine.backend
    cls = ENGINES.get(name)
    spec = model_spec(params, model)
    key = (name, model, config_hash(spec, params.engine))
    if key not in _LIVE:
        if cls.exclusive(params.engine):
            close_engines(name)
        engine = cls(model, spec, params.engine)
        engine.warm_up()
        _LIVE[key] = engine
    return _LIVE[key]


def close_engines(backend: str | None = None) -> None:
    """Release live engines (of one backend, or all)."""
    for key in [k for k in _LIVE if backend in (None, k[0])]:
        _LIVE.pop(key).close()
