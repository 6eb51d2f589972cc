"""The benchmark registry: a name -> function(params) -> figures (JSON-able dict)."""

from collections.abc import Callable
from typing import Any

from tasks.config import Params
from tasks.registry import Registry

Benchmark = Callable[[Params], dict[str, Any]]
BENCHMARKS: Registry[Benchmark] = Registry("benchmark")
