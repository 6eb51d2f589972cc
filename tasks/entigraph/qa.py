"""Step 5: closed-book multiple-choice QA about the source documents, as the lm-eval tasks of
tasks/entigraph/lm_eval/ (closed book, and with the document in context).

Each question: a ground-truth fact asked in one form (tasks/entigraph/questions.py), plus
distractors of the same kind drawn (seeded) from the answers of other documents."""

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasks import lmeval
from tasks.engines import Engine
from tasks.entigraph.config import QaConfig
from tasks.entigraph.questions import asked, company
from tasks.errors import InfopipeError
from tasks.io import atomic_path
from tasks.stats import mean_with_ci
from tasks.world.document import Document

FOLDER = Path(__file__).parent / "lm_eval"
DATA = Path("data/entigraph/qa.jsonl")  # where the task YAML reads them (relative to the root)
CLOSED_BOOK, IN_CONTEXT = "entigraph_closed_book", "entigraph_in_context"


def items(docs: Sequence[Document], pool: Sequence[Document], config: QaConfig) -> list[dict[str, Any]]:
    """Questions of `docs` in every form of `config.forms` with `config.choices` options;
    distractors are answers of the same kind in `pool` (companies of a different answer for
    reversed questions, so that no distractor is also right)."""
    facts = [(company(doc), {q.kind: q.answer for q in doc.questions}) for doc in pool]
    rng = random.Random(config.seed)
    out = []
    for doc in docs:
        truth = {q.kind: q.answer for q in doc.questions}
        for q in asked(doc, config.kinds, config.forms):
            if q.pool == "company":
                wrong = {name for name, answers in facts if answers.get(q.kind) != truth[q.kind]}
            else:
                wrong = {answers[q.kind] for _, answers in facts if q.kind in answers}
            others = sorted(wrong - {q.answer})
            if len(others) < config.choices - 1:
                raise InfopipeError(
                    "entigraph.qa.choices", f"only {len(others)} distractors of {q.form} {q.kind!r}"
                )
            choices = [q.answer, *rng.sample(others, config.choices - 1)]
            rng.shuffle(choices)
            out.append(
                {
                    "doc_id": doc.doc_id,
                    "kind": q.kind,
                    "form": q.form,
                    "question": q.text,
                    "answer": q.answer,
                    "choices": choices,
                    "label": choices.index(q.answer),
                    "document": doc.text,
                }
            )
    return out


def write_items(rows: Sequence[dict[str, Any]], path: Path = DATA) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    return path


def accuracy(engine: Engine, task: str) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Accuracy with its 95% bootstrap interval, and the per-question records."""
    records = lmeval.evaluate(engine, FOLDER, task)
    return mean_with_ci("accuracy", [r["acc"] for r in records]), records
