"""Step 3: the synthetic corpus. Generated rows are stored per document (resumable), then
assembled: empty rows dropped, exact and near duplicates removed, statistics computed.

Near duplicates: Jaccard similarity of word 5-gram sets at or above a threshold; the first row
in corpus order is kept.
"""

import re
from collections.abc import Mapping, Sequence
from statistics import fmean
from typing import Any

import polars as pl

from tasks.parts import PartStore

SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "doc_id": pl.String,
        "kind": pl.String,  # summary | pair | triple | rephrase
        "entities": pl.List(pl.String),
        "text": pl.String,
        "prompt_version": pl.String,
        "model": pl.String,
        "sampling": pl.String,  # the sampling config as JSON
        "seed": pl.Int64,
        "prompt_tokens": pl.Int32,
        "new_tokens": pl.Int32,
        "finish_reason": pl.String,
        "config_hash": pl.String,
    }
)
WORD = re.compile(r"\w+")
SHINGLE = 5


class DocumentStore(PartStore):
    """One part per finished document (tasks/parts.py), rows in the corpus schema."""

    def write_rows(self, doc_id: str, rows: Sequence[dict[str, Any]]) -> None:
        self.write(doc_id, pl.DataFrame(list(rows), schema=SCHEMA))

    def read_all(self, doc_ids: Sequence[str]) -> pl.DataFrame:
        frames = [self.read(d) for d in doc_ids]
        return pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)


def normalize(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


def shingles(text: str, n: int = SHINGLE) -> frozenset[tuple[str, ...]]:
    words = normalize(text).split()
    return frozenset(tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1)))


def jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def deduplicate(rows: pl.DataFrame, threshold: float) -> tuple[pl.DataFrame, dict[str, int]]:
    """Rows without empty texts, exact duplicates (normalised) and near duplicates, in order."""
    counts = {"empty": 0, "exact_duplicate": 0, "near_duplicate": 0}
    keep: list[int] = []
    seen: set[str] = set()
    kept_shingles: list[frozenset[tuple[str, ...]]] = []
    for i, text in enumerate(rows["text"].to_list()):
        norm = normalize(text)
        if not norm:
            counts["empty"] += 1
            continue
        if norm in seen:
            counts["exact_duplicate"] += 1
            continue
        grams = shingles(text)
        if any(jaccard(grams, other) >= threshold for other in kept_shingles):
            counts["near_duplicate"] += 1
            continue
        seen.add(norm)
        kept_shingles.append(grams)
        keep.append(i)
    return rows[keep], counts


def distinct_ngrams(texts: Sequence[str], n: int = 3) -> float:
    """Distinct word n-grams over all n-grams of the texts (1.0: nothing repeats)."""
    grams = [
        tuple(w[i : i + n]) for w in (normalize(t).split() for t in texts) for i in range(len(w) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def statistics(
    corpus: pl.DataFrame,
    synthetic_tokens: int,
    source_tokens: int,
    entities: Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """Synthetic-to-source tokens, distinct 3-grams, entity and pair coverage of the corpus."""
    texts = corpus["text"].to_list()
    by_doc: dict[str, str] = {}
    for doc_id, text in zip(corpus["doc_id"].to_list(), texts, strict=True):
        by_doc[doc_id] = by_doc.get(doc_id, "") + "\n" + text.lower()
    mentioned = [name.lower() in by_doc.get(doc, "") for doc, names in entities.items() for name in names]
    pairs = {
        (doc, tuple(names))
        for doc, kind, names in zip(corpus["doc_id"], corpus["kind"], corpus["entities"], strict=True)
        if kind == "pair"
    }
    possible = sum(len(n) * (len(n) - 1) // 2 for n in entities.values())
    return {
        "rows": float(corpus.height),
        "synthetic_tokens": float(synthetic_tokens),
        "source_tokens": float(source_tokens),
        "synthetic_to_source_tokens": synthetic_tokens / source_tokens if source_tokens else 0.0,
        "distinct_3gram_ratio": distinct_ngrams(texts),
        "entity_coverage": fmean(mentioned) if mentioned else 0.0,
        "pair_coverage": len(pairs) / possible if possible else 0.0,
    }
