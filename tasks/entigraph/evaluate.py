"""Step 5: closed-book QA of the base model, of every CPT model that trained, and of the base
model with the document in context (lm-eval, tasks/entigraph/lm_eval/)."""

from pathlib import Path
from typing import Any

from tasks.engines import close_engines, open_engine
from tasks.entigraph import cpt, qa
from tasks.entigraph.config import EntigraphParams
from tasks.entigraph.report import answer_rows


def evaluate_all(
    params: EntigraphParams, pretraining: cpt.Pretraining, folder: Path
) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]]]:
    """Accuracy with its CI per model name, and every answer (model, doc_id, kind, label, acc)."""
    trained = pretraining.trained
    names = ["base", *(r.name for r in pretraining.runs if trained[r.name]["blocks"]), "in_context"]
    accuracy, answers = {}, []
    for name in names:
        if name in trained:
            engine = open_engine(cpt.as_model(params, name, folder / name), name)
        else:
            engine = open_engine(params, params.entigraph.cpt.base)
        accuracy[name], records = qa.accuracy(
            engine, qa.IN_CONTEXT if name == "in_context" else qa.CLOSED_BOOK
        )
        answers += [{"model": name, **r} for r in answer_rows(records)]
    close_engines()
    return accuracy, answers
