"""Annotation: label each original word keep/drop by aligning the teacher's output to it.

LLMLingua-2's `label_word.py` (reference/algorithms.md 1.4): spaCy tokens and lemmas, commas
dropped; each compressed word is searched in a window around a pointer, forward then backward,
matching case-insensitively an original word not yet labelled. Per chunk: variation rate (share
of compressed words absent from the original: the teacher rewrote) and alignment gap (words
present but not aligned in the window). Outputs whose variation rate exceeds an absolute cap are
rejected as not extractive (a whole teacher can be; the paper's filter is relative only), then
`filter_tails` drops the worst tails as `filter.py` does.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from tasks import nlp
from tasks.compression.truth import Ranges, truth_labels


@dataclass(frozen=True)
class Alignment:
    words: list[str]  # original tokens as written
    starts: list[int]  # their start characters in the original
    labels: list[int]  # 1 keep, 0 drop
    compression_rate: float
    variation_rate: float
    alignment_gap: float


def align(original: list[str], compressed: list[str], window: int) -> list[int]:
    """Keep labels of `original` lemmas for the `compressed` lemmas (label_word.py's search)."""
    n = len(original)
    low = [w.lower() for w in original]
    labels = [0] * n
    prev = 0
    for word in (w.lower() for w in compressed):
        for i in range(window):
            forward = min(prev + i, n - 1)
            if not labels[forward] and low[forward] == word:
                labels[forward] = 1
                prev = prev + window // 2 if i > window // 2 else forward
                break
            backward = max(prev - i, 0)
            if not labels[backward] and low[backward] == word:
                labels[backward] = 1
                prev = backward
                break
    return labels


def annotate(texts: list[str], outputs: list[str], window: int) -> list[Alignment | None]:
    """An alignment per (original, teacher output); None for an empty output."""
    out: list[Alignment | None] = []
    for original, compressed in zip(nlp.lemmas(texts), nlp.lemmas(outputs), strict=True):
        original = [(t, lemma, start) for t, lemma, start in original if t != ","]
        comp = [lemma for t, lemma, _ in compressed if t != ","]
        if not original or not comp:
            out.append(None)
            continue
        lemmas = [lemma for _, lemma, _ in original]
        labels = align(lemmas, comp, window)
        present = {lemma.lower() for lemma in lemmas}
        found = sum(c.lower() in present for c in comp)
        out.append(
            Alignment(
                words=[t for t, _, _ in original],
                starts=[start for _, _, start in original],
                labels=labels,
                compression_rate=len(comp) / len(original),
                variation_rate=1.0 - found / len(comp),
                alignment_gap=found / len(original) - sum(labels) / len(original),
            )
        )
    return out


def label_table(
    distilled: pl.DataFrame,
    window: int,
    quantile: float,
    max_variation: float,
    facts: Mapping[str, Ranges] | None = None,
) -> pl.DataFrame:
    """The distilled rows with words, labels, their metrics and whether they survive the filter;
    `truth` holds what a perfect compression keeps, for chunks whose fact sentences are known."""
    facts = facts or {}
    alignments = annotate(distilled["text"].to_list(), distilled["compressed"].to_list(), window)
    words, starts = _tokens(distilled["text"].to_list())
    rows = []
    for i, (row, a) in enumerate(zip(distilled.iter_rows(named=True), alignments, strict=True)):
        ranges = facts.get(row["chunk_id"])
        rows.append(
            {
                "teacher": row["teacher"],
                "source": row["source"],
                "chunk_id": row["chunk_id"],
                "words": a.words if a else words[i],
                "labels": a.labels if a else [0] * len(words[i]),
                "truth": None if ranges is None else truth_labels(words[i], starts[i], ranges),
                "compression_rate": a.compression_rate if a else None,
                "variation_rate": a.variation_rate if a else None,
                "alignment_gap": a.alignment_gap if a else None,
                "rejected": "empty output" if a is None else None,
            }
        )
    frame = pl.DataFrame(
        rows, schema_overrides={"rejected": pl.String, "truth": pl.List(pl.Int64)}, infer_schema_length=None
    )
    not_extractive = pl.col("rejected").is_null() & (pl.col("variation_rate") > max_variation)
    frame = frame.with_columns(
        pl.when(not_extractive).then(pl.lit("not extractive")).otherwise(pl.col("rejected")).alias("rejected")
    )
    return filter_tails(frame, quantile)


def _tokens(texts: list[str]) -> tuple[list[list[str]], list[list[int]]]:
    """The tokens `annotate` labels (commas dropped) and their start characters, per text."""
    tokens = [[(t, start) for t, _, start in doc if t != ","] for doc in nlp.lemmas(texts)]
    return [[t for t, _ in doc] for doc in tokens], [[s for _, s in doc] for doc in tokens]


def filter_tails(frame: pl.DataFrame, quantile: float) -> pl.DataFrame:
    """Reject chunks at or above the `quantile` of variation rate, then of alignment gap on the
    rest (filter.py). A chunk with a zero value is never rejected by that value: with mostly
    faithful teachers the quantile can be 0, and `>=` would then reject everything."""
    for column in ("variation_rate", "alignment_gap"):
        alive = frame.filter(pl.col("rejected").is_null())
        if alive.is_empty():
            break
        cut = alive[column].quantile(quantile, interpolation="linear")
        bad = pl.col("rejected").is_null() & (pl.col(column) >= cut) & (pl.col(column) > 0)
        frame = frame.with_columns(
            pl.when(bad).then(pl.lit(column)).otherwise(pl.col("rejected")).alias("rejected")
        )
    return frame


def label_stats(labels: pl.DataFrame) -> dict[str, float]:
    """What the teachers gave: chunks, rejections by reason, mean rates and keep share."""
    kept = labels.filter(pl.col("rejected").is_null())
    flat = [x for row in kept["labels"].to_list() for x in row]
    out = {
        "chunks": float(len(labels)),
        "kept_chunks": float(len(kept)),
        "keep_share": sum(flat) / len(flat) if flat else float("nan"),
    }
    for reason in ("empty output", "not extractive", "variation_rate", "alignment_gap"):
        out[f"rejected_{reason.replace(' ', '_')}"] = float(
            labels.filter(pl.col("rejected") == reason).height
        )
    for column in ("compression_rate", "variation_rate", "alignment_gap"):
        out[f"mean_{column}"] = _mean(labels[column])
    for teacher in labels["teacher"].unique(maintain_order=True).to_list():
        mine = labels.filter(pl.col("teacher") == teacher)
        out[f"kept_chunks.{teacher}"] = float(mine.filter(pl.col("rejected").is_null()).height)
        out[f"mean_variation_rate.{teacher}"] = _mean(mine["variation_rate"])
    return out


def _mean(values: pl.Series) -> float:
    values = values.drop_nulls().cast(pl.Float64)
    return float(values.to_numpy().mean()) if len(values) else float("nan")
