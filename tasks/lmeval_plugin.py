"""Registers lm-eval model `infopipe` (tasks/lmeval.py) for lm-eval's own CLI.

Imported at interpreter start by the .pth file `make install` writes, so it must stay cheap: it
imports nothing heavy, only waits for `lm_eval.models` (which fills lm-eval's model registry)
to be imported, then adds `infopipe` as a lazy entry. Registering earlier would hide lm-eval's
built-in models (reference/stack.md, blocker 4)."""

import importlib.abc
import importlib.machinery
import sys
from typing import Any

NAME, TARGET = "infopipe", "tasks.lmeval:InfopipeLM"


class _AfterModels(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "lm_eval.models":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            from lm_eval.api.registry import model_registry

            if NAME not in model_registry:
                model_registry.register(NAME, target=TARGET)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if not any(isinstance(f, _AfterModels) for f in sys.meta_path):
    sys.meta_path.insert(0, _AfterModels())
