"""What a teacher is: chunks of source text in, one compressed text per chunk out (or None for
a chunk it cannot compress: too long for its context, or no truth to copy)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from tasks.compression.truth import Ranges
from tasks.registry import Registry


@dataclass(frozen=True)
class Chunk:
    source: str  # world | real
    chunk_id: str
    text: str
    facts: Ranges | None = None  # fact sentences in `text`, where the world knows them


class Teacher(ABC):
    needs_model: ClassVar[bool] = True
    prompt_version: str = ""

    def __init__(self, config: Any, params: Any) -> None:
        self.config = config  # tasks.compression.config.TeacherConfig
        self.params = params  # the stage's CompressionParams

    @abstractmethod
    def compress(self, chunks: list[Chunk]) -> list[str | None]:
        """One compressed text per chunk, None where this teacher has none."""


TEACHERS: Registry[type[Teacher]] = Registry("teacher")
