"""Downstream evaluation: every method compresses every context at every rate; a predictor answers
held-out world questions from the compressed documents; real articles get answer-free figures.

World QA: every question of each held-out document, answer spans known. Score = the LLMLingua-2
paper's `qa_score`: the normalised gold answer is a substring of the normalised first line of
the prediction. Span retention = the gold answer survives in the compressed context. Real texts
(Reuters): no predictor here answers them (cloze on Reuters is beyond the cpu models), so they
report the named entities and numbers (spaCy) each method keeps, and the ratio it achieves.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from tasks import nlp, prompts
from tasks.answers import contains as qa_score
from tasks.answers import normalize
from tasks.compression.base import Budget, Compressed, Compressor
from tasks.engines import Engine
from tasks.samplers import SamplingConfig
from tasks.stats import mean_with_ci
from tasks.world.document import Document

# Named entities and numbers a compression should keep (spaCy labels).
KEPT_LABELS = ("PERSON", "ORG", "GPE", "LOC", "NORP", "MONEY", "DATE", "CARDINAL", "PERCENT", "QUANTITY")


@dataclass(frozen=True)
class Item:
    dataset: str  # world
    doc_id: str
    kind: str
    context: str
    question: str
    answer: str


def world_items(docs: Sequence[Document]) -> list[Item]:
    return [Item("world", d.doc_id, q.kind, d.text, q.text, q.answer) for d in docs for q in d.questions]


def retained(context: str, answer: str) -> float:
    return float(normalize(answer) in normalize(context))


Compressions = dict[tuple[str, float, str], Compressed]


def compress_all(
    methods: dict[str, Compressor], rates: Sequence[float], contexts: Sequence[str]
) -> Compressions:
    """Every method's compression of every context at every rate (one batch per method and rate)."""
    contexts = list(dict.fromkeys(contexts))
    out: Compressions = {}
    for name, method in methods.items():
        for rate in rates:
            for context, result in zip(contexts, method.compress(contexts, Budget(rate=rate)), strict=True):
                out[(name, rate, context)] = result
    return out


def evaluate(
    compressed: Compressions,
    items: Sequence[Item],
    predictor: Engine,
    prompt_name: str,
    max_tokens: int,
) -> pl.DataFrame:
    """One row per (method, rate, question); every answer generated in one engine batch."""
    prompt = prompts.load(prompt_name)
    cells = list(dict.fromkeys((name, rate) for name, rate, _ in compressed))
    keys = [(name, rate, item) for name, rate in cells for item in items]
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


def entity_retention(compressed: Compressions, documents: Sequence[tuple[str, str]]) -> pl.DataFrame:
    """One row per (method, rate, article, named entity or number): is it still in the compressed
    article? Entities found by spaCy in the original."""
    found = nlp.entities([text for _, text in documents])
    cells = list(dict.fromkeys((name, rate) for name, rate, _ in compressed))
    rows = []
    for (doc_id, text), ents in zip(documents, found, strict=True):
        kept = list(dict.fromkeys((e, label) for e, label, _, _ in ents if label in KEPT_LABELS))
        for name, rate in cells:
            result = compressed[(name, rate, text)]
            for entity in kept:
                rows.append(
                    {
                        "method": name,
                        "rate": rate,
                        "dataset": "real",
                        "doc_id": doc_id,
                        "kind": entity[1],
                        "entity": entity[0],
                        "retained": retained(result.text, entity[0]),
                        "original_tokens": result.original_tokens,
                        "compressed_tokens": result.compressed_tokens,
                        "seconds": result.seconds,
                    }
                )
    return pl.DataFrame(rows)


def summarize(*tables: pl.DataFrame) -> list[dict[str, float | str]]:
    """Per (method, rate, dataset): achieved ratio and speed, then for world QA accuracy and
    answer-span retention, for real articles entity retention, each with a 95% CI."""
    out: list[dict[str, float | str]] = []
    for table in (t for t in tables if not t.is_empty()):
        for (method, rate, dataset), group in table.group_by(
            ["method", "rate", "dataset"], maintain_order=True
        ):
            contexts = group.unique(subset=["doc_id"], keep="first")
            original = int(contexts["original_tokens"].sum())
            kept = int(contexts["compressed_tokens"].sum())
            seconds = float(contexts["seconds"].sum())
            cell: dict[str, float | str] = {
                "method": str(method),
                "rate": float(str(rate)),
                "dataset": str(dataset),
                "achieved_ratio": original / max(kept, 1),
                "achieved_rate": kept / max(original, 1),
                "latency_seconds": seconds / max(len(contexts), 1),
                "tokens_per_second": original / seconds if seconds > 0 else float("inf"),
            }
            if "correct" in group.columns:
                cell |= mean_with_ci("accuracy", group["correct"].to_list())
                cell |= mean_with_ci("span_retention", group["retained"].to_list())
                cell["questions"] = float(len(group))
            else:
                cell |= mean_with_ci("entity_retention", group["retained"].to_list())
                cell["entities"] = float(len(group))
            out.append(cell)
    return out
