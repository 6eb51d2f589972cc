"""The world's truth as a teacher: the fact sentences' content words. Labels no real text; the
report must say so when it is the one the classifier learns from."""

from tasks.compression.teachers.base import TEACHERS, Chunk, Teacher
from tasks.compression.truth import oracle_text


@TEACHERS.register("oracle")
class Oracle(Teacher):
    needs_model = False
    prompt_version = "oracle"

    def compress(self, chunks: list[Chunk]) -> list[str | None]:
        return [None if c.facts is None else oracle_text(c.text, c.facts) for c in chunks]
