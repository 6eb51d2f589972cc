"""What an entity extractor returns, and the registry of extractors (tasks/entigraph/entities.py
registers them; the `entigraph` section names them)."""

from collections.abc import Callable
from dataclasses import dataclass

from tasks.registry import Registry


@dataclass(frozen=True)
class Extraction:
    entities: tuple[str, ...]
    summary: str | None = None
    attempts: int = 1
    error: str | None = None  # why nothing was extracted
    new_tokens: int = 0  # generated tokens spent, retries included


# (params of stage entigraph, texts) -> one extraction per text
EXTRACTORS: Registry[Callable[..., list[Extraction]]] = Registry("extractor")
