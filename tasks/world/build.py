"""The world's tables: documents, entity spans, fact spans and questions, for both splits."""

import random
from collections import Counter
from statistics import fmean
from typing import Any

import polars as pl

from tasks.config import WorldConfig
from tasks.world.facts import Company, draw_companies
from tasks.world.render import TEMPLATE_VERSION, render

# kind -> (question template, answer field of Company, supporting facts). Multi-hop ones chain two.
QUESTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "founder": ("Who founded {name}?", "founder", ("founded_by",)),
    "founded": ("In which year was {name} founded?", "founded", ("founded_by",)),
    "city": ("Where is {name} headquartered?", "city", ("headquartered_in",)),
    "product": ("What product does {name} make?", "product", ("makes",)),
    "ceo": ("Who is the chief executive of {name}?", "ceo", ("ceo_of",)),
    "revenue": ("What revenue did {name} report last year?", "revenue", ("revenue",)),
    "founder_birthplace": (
        "Where was the founder of {name} born?",
        "founder_city",
        ("founded_by", "born_in"),
    ),
    "maker_city": (
        "In which city is the maker of the {product} headquartered?",
        "city",
        ("makes", "headquartered_in"),
    ),
}


def build_world(config: WorldConfig) -> dict[str, pl.DataFrame]:
    rng = random.Random(config.seed)
    taken: set[str] = set()  # names are unique across kinds and splits: splits share no entity
    rows: dict[str, list[dict[str, object]]] = {"documents": [], "entities": [], "facts": [], "questions": []}
    for split in ("train", "heldout"):
        for i, company in enumerate(draw_companies(rng, split, getattr(config, split), taken)):
            _add_document(rows, f"{split}-{i:05d}", split, company, rng, config)
    return {name: pl.DataFrame(data) for name, data in rows.items()}


def _add_document(
    rows: dict[str, list[dict[str, object]]],
    doc_id: str,
    split: str,
    company: Company,
    rng: random.Random,
    config: WorldConfig,
) -> None:
    doc = render(company, rng, config.distractors, config.boilerplate)
    rows["documents"].append(
        {
            "doc_id": doc_id,
            "split": split,
            "text": doc.text,
            "chars": len(doc.text),
            "distractor_chars": doc.distractor_chars,
            "template_version": TEMPLATE_VERSION,
        }
    )
    for name, kind, start, end in doc.entities:
        rows["entities"].append({"doc_id": doc_id, "name": name, "type": kind, "start": start, "end": end})
    for relation, (start, end) in doc.facts.items():
        rows["facts"].append({"doc_id": doc_id, "relation": relation, "start": start, "end": end})
    for kind, (template, answer, supports) in QUESTIONS.items():
        spans = [doc.facts[s] for s in supports]
        rows["questions"].append(
            {
                "question_id": f"{doc_id}-{kind}",
                "doc_id": doc_id,
                "split": split,
                "kind": kind,
                "hops": len(supports),
                "question": template.format(name=company.name, product=company.product),
                "answer": getattr(company, answer),
                "support_starts": [s for s, _ in spans],
                "support_ends": [e for _, e in spans],
                "template_version": TEMPLATE_VERSION,
            }
        )


def summarize(tables: dict[str, pl.DataFrame]) -> dict[str, Any]:
    docs, questions = tables["documents"], tables["questions"]
    return {
        "documents": dict(Counter(docs["split"].to_list())),
        "questions": dict(Counter(questions["kind"].to_list())),
        "entities": tables["entities"].height,
        "mean_chars": fmean(docs["chars"].to_list()),
        "distractor_share": sum(docs["distractor_chars"].to_list()) / sum(docs["chars"].to_list()),
        "template_version": TEMPLATE_VERSION,
    }
