"""What a perfect compression of a world document keeps, and how close a teacher's labels come.

The world knows which sentences state its facts and where it names its entities: a perfect
compression keeps the facts' content words, says each name once (a later mention of a name the
text already gave is redundant) and drops boilerplate, distractors and function words. That is
Document.kept (the family's `keep` target) less the repeated names: 0.46 of the held-out
documents' GPT tokens, against 0.64 with every mention (measured; SmolLM2 answers 35% and 38% of
their questions from the two). Labels are compared on content tokens only (tokens with a letter
or digit): punctuation is neither required nor penalised.
"""

import re
from collections.abc import Sequence

import polars as pl

from tasks.compression import gpt_tokens
from tasks.world.document import STOPWORDS, Document

Ranges = tuple[tuple[int, int], ...]


def truth_ranges(doc: Document, text: str) -> Ranges:
    """Character ranges in `text` (the document or a chunk of it) a perfect compression keeps words
    of: the document's fact sentences, each cut around the names `text` already gave."""
    out = []
    seen: set[str] = set()
    for _, start, end in sorted(doc.facts, key=lambda f: f[1]):
        at = text.find(doc.text[start:end])
        if at < 0:
            continue
        cursor = at
        for name, _, s, e in doc.entities:
            if start <= s < end:
                if name in seen:
                    out.append((cursor, at + s - start))
                    cursor = at + e - start
                seen.add(name)
        out.append((cursor, at + end - start))
    return tuple((s, e) for s, e in sorted(out) if e > s)


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
    """The words of `text` a perfect compression keeps, in order: essential words in `ranges`."""
    words = " ".join(text[s:e] for s, e in ranges).split()
    return " ".join(w for w in words if essential(w))


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
    kept = gpt_tokens.counts([oracle_text(d.text, truth_ranges(d, d.text)) for d in docs])
    return sum(kept) / max(sum(gpt_tokens.counts([d.text for d in docs])), 1)
