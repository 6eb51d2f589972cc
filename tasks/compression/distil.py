"""Distillation: every teacher compresses the source chunks (an LLM in one engine batch each).

Sources are world documents (train split, with their fact sentences) and real-text chunks of the
corpus stage; chunks are cut at sentence ends to at most `chunk_tokens` GPT tokens, as the paper
cuts MeetingBank for GPT-4.
"""

import re
from collections.abc import Sequence

import polars as pl

from tasks.compression import gpt_tokens
from tasks.compression.config import CompressionParams
from tasks.compression.teachers import TEACHERS, Chunk
from tasks.compression.truth import truth_ranges
from tasks.world.document import Document

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
SCHEMA = {
    "teacher": pl.String,
    "prompt_version": pl.String,
    "source": pl.String,
    "chunk_id": pl.String,
    "text": pl.String,
    "compressed": pl.String,
}


def chunk(text: str, max_tokens: int) -> list[str]:
    """Sentences packed into chunks of at most `max_tokens` GPT tokens (a longer sentence alone)."""
    out: list[str] = []
    current: list[str] = []
    used = 0
    for sentence in SENTENCE_END.split(text.strip()):
        size = gpt_tokens.count(sentence) + 1
        if current and used + size > max_tokens:
            out.append(" ".join(current))
            current, used = [], 0
        current.append(sentence)
        used += size
    if current:
        out.append(" ".join(current))
    return out


def sources(
    world_docs: Sequence[Document], real_texts: Sequence[tuple[str, str]], max_tokens: int
) -> list[Chunk]:
    """Every chunk of the world documents (with their fact sentences) and of the real texts."""
    out = []
    for doc in world_docs:
        for i, piece in enumerate(chunk(doc.text, max_tokens)):
            out.append(Chunk("world", f"{doc.doc_id}-{i:02d}", piece, truth_ranges(doc, piece)))
    for doc_id, text in real_texts:
        for i, piece in enumerate(chunk(text, max_tokens)):
            out.append(Chunk("real", f"{doc_id}-{i:02d}", piece))
    return out


def distil(params: CompressionParams, chunks: list[Chunk]) -> pl.DataFrame:
    """Every teacher's compression of every chunk it can compress (one engine batch per teacher)."""
    rows = []
    for config in params.compression.teachers:
        teacher = TEACHERS.get(config.method)(config, params)
        for piece, compressed in zip(chunks, teacher.compress(chunks), strict=True):
            if compressed is None:
                continue
            rows.append(
                {
                    "teacher": config.name,
                    "prompt_version": teacher.prompt_version,
                    "source": piece.source,
                    "chunk_id": piece.chunk_id,
                    "text": piece.text,
                    "compressed": compressed,
                }
            )
    return pl.DataFrame(rows, schema=SCHEMA)
