"""Documents and chunks as tables: chunks of about `chunk_words` words, cut at sentence ends."""

import re
from collections.abc import Sequence

import polars as pl

from tasks.corpus.sources import Document

SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’]))\s+")


def chunk_spans(text: str, chunk_words: int) -> list[tuple[int, int]]:
    """(start, end) character spans covering the text's sentences, each about chunk_words long."""
    spans: list[tuple[int, int]] = []
    start, words, cursor = 0, 0, 0
    for match in [*SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        words += len(text[cursor:end].split())
        cursor = match.end() if match else len(text)
        if words >= chunk_words or match is None:
            if text[start:end].strip():
                spans.append((start, end))
            start, words = cursor, 0
    return spans


def tables(documents: Sequence[Document], chunk_words: int) -> dict[str, pl.DataFrame]:
    docs = pl.DataFrame(
        [{"source": d.source, "doc_id": d.doc_id, "title": d.title, "text": d.text,
          "words": len(d.text.split())} for d in documents],
        schema={"source": pl.String, "doc_id": pl.String, "title": pl.String, "text": pl.String,
                "words": pl.Int64},
    )  # fmt: skip
    chunks = [
        {"source": d.source, "doc_id": d.doc_id, "chunk_id": f"{d.doc_id}-{i:03d}", "start": s, "end": e,
         "text": d.text[s:e], "words": len(d.text[s:e].split())}
        for d in documents
        for i, (s, e) in enumerate(chunk_spans(d.text, chunk_words))
    ]  # fmt: skip
    schema = {"source": pl.String, "doc_id": pl.String, "chunk_id": pl.String, "start": pl.Int64,
              "end": pl.Int64, "text": pl.String, "words": pl.Int64}  # fmt: skip
    return {"documents": docs, "chunks": pl.DataFrame(chunks, schema=schema)}
