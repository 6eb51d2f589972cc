"""The world's tables: documents, entity spans, fact spans and questions, for both splits."""

import random
from collections import Counter
from pathlib import Path
from statistics import fmean
from typing import Any

import polars as pl

from tasks.errors import InfopipeError
from tasks.world.config import WorldConfig
from tasks.world.document import from_company
from tasks.world.facts import Company, draw_companies
from tasks.world.render import TEMPLATE_VERSION, render

TABLES = ("documents", "entities", "facts", "questions")


def read_world(folder: Path | str = "data/world") -> dict[str, pl.DataFrame]:
    """The `world` stage's tables, as later stages read them."""
    folder = Path(folder)
    missing = [name for name in TABLES if not (folder / f"{name}.parquet").is_file()]
    if missing:
        raise InfopipeError(str(folder), f"no {missing[0]}.parquet; run `dvc repro world` first")
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in TABLES}


def build_world(config: WorldConfig) -> dict[str, pl.DataFrame]:
    rng = random.Random(config.seed)
    taken: set[str] = set()  # names are unique across kinds and splits: splits share no entity
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
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
    for q in from_company(doc_id, company, doc).questions:
        rows["questions"].append(
            {
                "question_id": f"{doc_id}-{q.kind}",
                "doc_id": doc_id,
                "split": split,
                "kind": q.kind,
                "hops": q.hops,
                "question": q.text,
                "answer": q.answer,
                "support_starts": [s for s, _ in q.spans],
                "support_ends": [e for _, e in q.spans],
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
