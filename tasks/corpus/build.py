"""The `corpus` stage's work: read each configured source, skip (or fail on) missing packages."""

import logging
from pathlib import Path
from typing import Any

import polars as pl

from tasks.corpus.chunks import tables
from tasks.corpus.config import CorpusConfig
from tasks.corpus.sources import CORPORA, Document
from tasks.errors import InfopipeError

log = logging.getLogger(__name__)


def read_sources(config: CorpusConfig) -> tuple[list[Document], list[str]]:
    """All documents of the available sources, and the sources skipped for a missing package."""
    documents: list[Document] = []
    skipped: list[str] = []
    for source in config.sources:
        reader = CORPORA.get(source)
        try:
            documents += reader(Path(config.debian_root))
        except InfopipeError as err:
            if config.required:
                raise
            log.warning("%s; skipping its real texts", err)
            skipped.append(source)
    return documents, skipped


def build_corpus(config: CorpusConfig) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    documents, skipped = read_sources(config)
    frames = tables(documents, config.chunk_words)
    docs, chunks = frames["documents"], frames["chunks"]
    metrics: dict[str, Any] = {"skipped": skipped, "chunk_words": config.chunk_words}
    for source in config.sources:
        if source not in skipped:
            metrics[source] = {
                "documents": docs.filter(docs["source"] == source).height,
                "chunks": chunks.filter(chunks["source"] == source).height,
                "words": int(docs.filter(docs["source"] == source)["words"].sum()),
            }
    return frames, metrics


def read_chunks(folder: Path | str = "data/corpus") -> pl.DataFrame:
    """The `corpus` stage's chunks (empty when no real texts were installed)."""
    path = Path(folder) / "chunks.parquet"
    if not path.is_file():
        raise InfopipeError(str(path), "file not found; run `dvc repro corpus` first")
    return pl.read_parquet(path)
