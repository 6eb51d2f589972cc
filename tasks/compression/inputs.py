"""What the job reads: the chunks the teachers compress (train-split world documents, Austen),
the real documents of the parity check (Reuters), and the evaluation items (held-out world
questions, Reuters cloze)."""

from dataclasses import dataclass

import polars as pl

from tasks.compression.config import CompressionConfig
from tasks.compression.distil import sources
from tasks.compression.evaluate import Item, cloze_items, world_items
from tasks.world.document import from_tables


@dataclass(frozen=True)
class Inputs:
    chunks: list[tuple[str, str, str]]  # (source, chunk_id, text) for the teachers
    parity: list[str]  # real documents both llmlingua2 implementations compress
    items: list[Item]  # contexts with a question each, for every method and rate


def inputs(config: CompressionConfig, world: dict[str, pl.DataFrame], chunks: pl.DataFrame) -> Inputs:
    austen = chunks.filter(pl.col("source") == "janeausten").select("chunk_id", "text").rows()
    reuters = chunks.filter(pl.col("source") == "reuters").select("chunk_id", "text").rows()
    train_docs = [(d.doc_id, d.text) for d in from_tables(world, "train")[: config.world_documents]]
    evaluation = config.evaluation
    items = world_items(from_tables(world, "heldout")[: evaluation.world_documents])
    items += cloze_items(reuters[: evaluation.real_documents], evaluation.cloze_per_document, evaluation.seed)
    return Inputs(
        chunks=sources(train_docs, austen[: config.real_chunks], config.chunk_tokens),
        parity=[text for _, text in reuters[: config.parity_documents]],
        items=items,
    )
