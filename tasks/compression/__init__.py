"""Prompt compression (stage `compression`): LLMLingua-2 and its baselines behind one registry."""

from tasks.compression import (  # noqa: F401 - register compressors
    llmlingua1,
    llmlingua2,
    llmlingua_pkg,
    random_drop,
    selective_context,
    truncate,
)
from tasks.compression.base import COMPRESSORS, Budget, Compressed, Compressor

__all__ = ["COMPRESSORS", "Budget", "Compressed", "Compressor"]
