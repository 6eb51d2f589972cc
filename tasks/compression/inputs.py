"""What the job reads: the chunks the teachers compress (train-split world documents with their
fact sentences, Austen), the documents of the parity check (held-out world documents and Reuters
articles), the held-out world questions and the Reuters articles of the evaluation."""

from dataclasses import dataclass

import polars as pl

from tasks.compression.config import CompressionConfig
from tasks.compression.distil import sources
from tasks.compression.evaluate import Item, world_items
from tasks.compression.teachers import Chunk
from tasks.compression.truth import truth_rate
from tasks.world.document import from_tables


@dataclass(frozen=True)
class Inputs:
    chunks: list[Chunk]  # what the teachers compress
    parity: dict[str, list[str]]  # source -> documents both llmlingua2 implementations compress
    items: list[Item]  # held-out world questions, each with its document
    real: list[tuple[str, str]]  # (id, text) of the Reuters articles of the evaluation
    truth_rate: float  # the share of GPT tokens a perfect compression of the evaluated documents keeps


def inputs(config: CompressionConfig, world: dict[str, pl.DataFrame], chunks: pl.DataFrame) -> Inputs:
    austen = chunks.filter(pl.col("source") == "janeausten").select("chunk_id", "text").rows()
    reuters = chunks.filter(pl.col("source") == "reuters").select("chunk_id", "text").rows()
    heldout = from_tables(world, "heldout")
    evaluation = config.evaluation
    return Inputs(
        chunks=sources(
            from_tables(world, "train")[: config.world_documents],
            austen[: config.real_chunks],
            config.chunk_tokens,
        ),
        parity={
            "world": [d.text for d in heldout[: config.parity_documents]],
            "reuters": [text for _, text in reuters[: config.parity_documents]],
        },
        items=world_items(heldout[: evaluation.world_documents]),
        real=reuters[: evaluation.real_documents],
        truth_rate=truth_rate(heldout[: evaluation.world_documents]),
    )
