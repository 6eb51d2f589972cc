"""What a perfect compression of a world document keeps, and how close a teacher's labels come.

The world knows which sentences state its facts: a perfect compression keeps their content
words and drops boilerplate, distractors and function words (the family's `keep` target,
Document.kept). Labels are compared on content tokens only (tokens with a letter or digit):
punctuation is neither required nor penalised.
"""

import re
from collections.abc import Sequence

import polars as pl

from tasks.compression import gpt_tokens
from tasks.world.document import STOPWORDS, Document

Ranges = tuple[tuple[int, int], ...]


def fact_ranges(doc: Document, text: str) -> Ranges:
    """Character ranges in `text` (the document or a chunk of it) of the document's fact sentences."""
    out = []
    for _, start, end in doc.facts:
        at = text.find(doc.text[start:end])
        if at >= 0:
            out.append((at, at + end - start))
    return tuple(sorted(out))


def content(token: str) -> bool:
    return re.search(r"[^\W_]", token) is not None


def essential(token: str) -> bool:
    return content(token) and re.sub(r"\W", "", token).lower() not in STOPWORDS


def truth_labels(words: Sequence[str], starts: Sequence[int], ranges: Ranges) -> list[int]:
    """1 for each token a perfect compression keeps: an essential token inside a fact sentence."""
    return [
        int(essential(w) and any(s <= at < e for s, e in ranges)) for w, at in zip(words, starts, strict=True)
    ]


def oracle_text(text: str, ranges: Ranges) -> str:
    """The fact sentences of `text` without function words (Document.kept, for any chunk)."""
    words = " ".join(text[s:e] for s, e in ranges).split()
    return " ".join(w for w in words if re.sub(r"\W", "", w).lower() not in STOPWORDS)


def label_quality(labels: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Per teacher: token precision, recall and F1 of its keep labels against the truth, over
    the world chunks it labelled (rejected ones included: a filter is not a better teacher)."""
    out: dict[str, dict[str, float]] = {}
    rows = labels.filter(pl.col("truth").is_not_null() & (pl.col("words").list.len() > 0))
    for teacher in rows["teacher"].unique(maintain_order=True).to_list():
        tp = fp = fn = 0
        for row in rows.filter(pl.col("teacher") == teacher).iter_rows(named=True):
            for word, ours, truth in zip(row["words"], row["labels"], row["truth"], strict=True):
                if content(word):
                    tp += ours and truth
                    fp += ours and not truth
                    fn += truth and not ours
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[teacher] = {"precision": precision, "recall": recall, "f1": f1}
    return out


def truth_rate(docs: Sequence[Document]) -> float:
    """The share of GPT tokens a perfect compression of `docs` keeps (the truth's rate)."""
    kept = gpt_tokens.counts([oracle_text(d.text, fact_ranges(d, d.text)) for d in docs])
    return sum(kept) / max(sum(gpt_tokens.counts([d.text for d in docs])), 1)
