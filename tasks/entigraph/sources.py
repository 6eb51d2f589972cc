"""The source documents of the stage and their questions, by registered reader.

`world`    held-out world documents (cpu profile): ground-truth entities, and the world's
           questions with distractors of the same kind drawn from other documents' answers.
`quality`  a QuALITY JSONL file (gpu profile; v1.0.1 `*.htmlstripped` format: one article per
           line with `title`, `author`, `year`, `article` and `questions` of four `options` and a
           1-based `gold_label`), rendered as the reference does: the document starts with
           `"<title>", <author>, <year>.` and each question with `In the context of "<title>",
           written by <author> in <year>,`. No entity ground truth: entity scores are null.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.entigraph import qa
from tasks.entigraph.config import EntigraphParams
from tasks.errors import InfopipeError
from tasks.io import read_text
from tasks.registry import Registry
from tasks.world.build import read_world
from tasks.world.document import from_tables


@dataclass(frozen=True)
class Source:
    doc_id: str
    text: str
    truth: tuple[str, ...]  # ground-truth salient entities; empty when unknown
    questions: list[dict[str, Any]] = field(default_factory=list, compare=False)


Reader = Callable[[EntigraphParams], list[Source]]
SOURCES: Registry[Reader] = Registry("source")


@SOURCES.register("world")
def world(params: EntigraphParams) -> list[Source]:
    config = params.entigraph
    heldout = from_tables(read_world(), "heldout")
    docs = heldout[: config.documents]
    items = qa.items(docs, heldout, config.qa)
    return [
        Source(d.doc_id, d.text, tuple(d.salient()), [q for q in items if q["doc_id"] == d.doc_id])
        for d in docs
    ]


@SOURCES.register("quality")
def quality(params: EntigraphParams) -> list[Source]:
    config = params.entigraph
    path = Path(config.quality_file or "")
    out: list[Source] = []
    seen: set[str] = set()
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            title, author, year = row["title"], row["author"], row.get("year", "")
            key = f"{title} by {author}"  # the reference deduplicates articles by this
            if key in seen:
                continue
            seen.add(key)
            header = f'"{title}", {author}, {year}.'
            context = f'In the context of "{title}", written by {author} in {year},'
            questions = [
                {
                    "doc_id": str(row["article_id"]),
                    "kind": "quality",
                    "form": "forward",
                    "question": f"{context} {q['question'][:1].lower()}{q['question'][1:]}",
                    "answer": q["options"][int(q["gold_label"]) - 1],
                    "choices": list(q["options"]),
                    "label": int(q["gold_label"]) - 1,
                    "document": row["article"],
                }
                for q in row["questions"]
            ]
            out.append(Source(str(row["article_id"]), f"{header}\n{row['article']}", (), questions))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            raise InfopipeError(
                f"{path}:{number}", "expected a QuALITY article (title, author, article, questions)"
            ) from None
        if len(out) == config.documents:
            break
    if not out:
        raise InfopipeError(str(path), "no QuALITY articles")
    return out
