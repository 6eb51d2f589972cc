"""Distillation teachers, one per file, registered by method name: what labels the classifier
learns from (reference/algorithms.md Job 1). params.yaml lists teachers by their own names; the
job measures each one's labels against the world's truth and trains on the one it names."""

from tasks.compression.teachers import extractive, llm, oracle  # noqa: F401 - register them
from tasks.compression.teachers.base import TEACHERS, Chunk, Teacher

__all__ = ["TEACHERS", "Chunk", "Teacher"]
