"""Downstream evaluation: a predictor answers questions from original and compressed contexts.

Two sets: world QA (held-out documents, every question, answer spans known) and a real-text
cloze set (Reuters chunks; a named entity of one sentence, found by spaCy, is blanked out and
asked for). Score = the LLMLingua-2 paper's `qa_score`: the normalised gold answer is a
substring of the normalised first line of the prediction. Span retention = the gold answer
survives in the compressed context.
"""

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from tasks import nlp, prompts
from tasks.answers import contains as qa_score
from tasks.answers import normalize
from tasks.compression.base import Budget, Compressor
from tasks.engines import Engine
from tasks.samplers import SamplingConfig
from tasks.stats import mean_with_ci
from tasks.world.document import Document

CLOZE_LABELS = ("PERSON", "ORG", "GPE", "MONEY", "DATE", "CARDINAL", "PERCENT", "NORP", "LOC")
SENTENCE = re.compile(r"[^.!?]+[.!?]")
BLANK = "____"


@dataclass(frozen=True)
class Item:
    dataset: str  # world | real
    doc_id: str
    kind: str
    context: str
    question: str
    answer: str


def world_items(docs: Sequence[Document]) -> list[Item]:
    return [Item("world", d.doc_id, q.kind, d.text, q.text, q.answer) for d in docs for q in d.questions]


def cloze_items(chunks: Sequence[tuple[str, str]], per_document: int, seed: int) -> list[Item]:
    """Blank one named entity in `per_document` sentences of each (id, text) chunk."""
    items = []
    rng = random.Random(seed)
    for (doc_id, text), ents in zip(chunks, nlp.entities([t for _, t in chunks]), strict=True):
        sentences = [(m.start(), m.end()) for m in SENTENCE.finditer(text)]
        options = []
        for name, label, start, end in ents:
            inside = [(s, e) for s, e in sentences if s <= start and end <= e]
            if label in CLOZE_LABELS and inside and len(name) > 1:
                s, e = inside[0]
                sentence = (text[s:start] + BLANK + text[end:e]).strip()
                if len(sentence.split()) <= 40:
                    options.append(Item("real", doc_id, label, text, _cloze(sentence), name))
        rng.shuffle(options)
        seen: set[str] = set()
        for item in options:
            if item.question not in seen and len(seen) < per_document:
                seen.add(item.question)
                items.append(item)
    return items


def _cloze(sentence: str) -> str:
    return f'Which words fill the blank {BLANK} in: "{sentence}"?'


def retained(context: str, answer: str) -> float:
    return float(normalize(answer) in normalize(context))


def evaluate(
    methods: dict[str, Compressor],
    rates: Sequence[float],
    items: Sequence[Item],
    predictor: Engine,
    max_tokens: int,
) -> pl.DataFrame:
    """One row per (method, rate, question); every answer generated in one engine batch."""
    contexts = list(dict.fromkeys(item.context for item in items))
    compressed = {}
    for name, method in methods.items():
        for rate in rates:
            for context, result in zip(contexts, method.compress(contexts, Budget(rate=rate)), strict=True):
                compressed[(name, rate, context)] = result
    prompt = prompts.load("qa")
    keys = [(name, rate, item) for name in methods for rate in rates for item in items]
    texts = [
        prompt.render(document=compressed[(n, r, i.context)].text, question=i.question) for n, r, i in keys
    ]
    unique = list(dict.fromkeys(texts))
    sampling = SamplingConfig(max_tokens=max_tokens, temperature=0.0, logprobs=0, entropy=False)
    answers = dict(zip(unique, (g.text for g in predictor.generate(unique, sampling, "left")), strict=True))
    rows = []
    for (name, rate, item), text in zip(keys, texts, strict=True):
        result = compressed[(name, rate, item.context)]
        rows.append(
            {
                "method": name,
                "rate": rate,
                "dataset": item.dataset,
                "doc_id": item.doc_id,
                "kind": item.kind,
                "question": item.question,
                "answer": item.answer,
                "prediction": answers[text],
                "correct": qa_score(answers[text], item.answer),
                "retained": retained(result.text, item.answer),
                "original_tokens": result.original_tokens,
                "compressed_tokens": result.compressed_tokens,
                "seconds": result.seconds,
                "prompt_version": prompt.tag,
            }
        )
    return pl.DataFrame(rows)


def summarize(results: pl.DataFrame) -> list[dict[str, float | str]]:
    """Per (method, rate, dataset): achieved ratio, accuracy and retention with 95% CIs, speed."""
    out: list[dict[str, float | str]] = []
    for (method, rate, dataset), group in results.group_by(
        ["method", "rate", "dataset"], maintain_order=True
    ):
        contexts = group.unique(subset=["doc_id"], keep="first")
        original = int(contexts["original_tokens"].sum())
        kept = int(contexts["compressed_tokens"].sum())
        seconds = float(contexts["seconds"].sum())
        out.append(
            {
                "method": str(method),
                "rate": float(str(rate)),
                "dataset": str(dataset),
                "achieved_ratio": original / max(kept, 1),
                "achieved_rate": kept / max(original, 1),
                **mean_with_ci("accuracy", group["correct"].to_list()),
                **mean_with_ci("span_retention", group["retained"].to_list()),
                "latency_seconds": seconds / max(len(contexts), 1),
                "tokens_per_second": original / seconds if seconds > 0 else float("inf"),
                "questions": float(len(group)),
            }
        )
    return out
