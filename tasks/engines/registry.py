"""The engine registry: backends register a class under the name params.yaml uses."""

from typing import Any

from tasks.registry import Registry

ENGINES: Registry[Any] = Registry("engine")
