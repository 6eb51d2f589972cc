"""Distillation: teacher LLMs compress source chunks extractively, all in one engine batch each.

Sources are world documents (train split) and real-text chunks of the corpus stage; chunks are
cut at sentence ends to at most `chunk_tokens` GPT tokens, as the paper cuts MeetingBank for GPT-4.
"""

import re
from collections.abc import Sequence

import polars as pl

from tasks import prompts
from tasks.compression import gpt_tokens
from tasks.compression.config import CompressionParams
from tasks.engines import open_engine

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
SCHEMA = {
    "teacher": pl.String,
    "prompt_version": pl.String,
    "source": pl.String,
    "chunk_id": pl.String,
    "text": pl.String,
    "compressed": pl.String,
    "finish_reason": pl.String,
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


def sources(world_texts: Sequence[tuple[str, str]], real_texts: Sequence[tuple[str, str]], max_tokens: int):
    """(source, chunk_id, text) of every chunk of the world and real texts given as (id, text)."""
    rows = []
    for source, texts in (("world", world_texts), ("real", real_texts)):
        for doc_id, text in texts:
            for i, piece in enumerate(chunk(text, max_tokens)):
                rows.append((source, f"{doc_id}-{i:02d}", piece))
    return rows


def distil(params: CompressionParams, chunks: list[tuple[str, str, str]]) -> pl.DataFrame:
    """Every teacher's compression of every chunk that fits its context (one batch per teacher)."""
    config = params.compression
    rows = []
    for teacher in config.teachers:
        engine = open_engine(params, teacher.model)
        prompt = prompts.load(teacher.prompt)
        room = engine.spec.max_model_len - config.teacher_sampling.max_tokens
        texts = [prompt.render(document=text) for _, _, text in chunks]
        fits = [
            i for i, t in enumerate(texts) if len(engine.tokenizer(engine.render(t))["input_ids"]) <= room
        ]
        if not fits:
            continue
        outputs = engine.generate([texts[i] for i in fits], config.teacher_sampling)
        for i, out in zip(fits, outputs, strict=True):
            source, chunk_id, text = chunks[i]
            rows.append(
                {
                    "teacher": teacher.model,
                    "prompt_version": prompt.tag,
                    "source": source,
                    "chunk_id": chunk_id,
                    "text": text,
                    "compressed": out.text.strip(),
                    "finish_reason": out.finish_reason,
                }
            )
    return pl.DataFrame(rows, schema=SCHEMA)
