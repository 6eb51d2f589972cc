"""The QA sets a sweep compresses, by registered reader: N (context, question, answer) items.

`world`  held-out world documents (cpu profile), one question each, drawn with the seed from
         the document's single- and multi-hop questions; the gold notes (supporting sentences)
         come along for checks and benchmarks.
`jsonl`  a local JSONL file named in `mi_sweep.dataset_files` (gpu profile: long-document QA
         sets exported from the Hub): one item per line with `context`, `question`, `answer`
         and optionally `id`; the first N lines are used.
"""

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tasks.errors import InfopipeError
from tasks.io import read_text
from tasks.registry import Registry
from tasks.world.build import read_world
from tasks.world.document import from_tables


class Settings(Protocol):
    """What a reader needs of the `mi_sweep` section (tasks/mi/config.py names the datasets)."""

    @property
    def contexts(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def dataset_files(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Item:
    item_id: str
    context: str
    question: str
    answer: str
    notes: str = ""  # gold notes, where the dataset knows them


Reader = Callable[[Settings, str], list[Item]]
DATASETS: Registry[Reader] = Registry("dataset")


def load(config: Settings, name: str) -> list[Item]:
    reader = DATASETS.get(name if name in DATASETS else "jsonl")
    items = reader(config, name)
    if len(items) < config.contexts:
        raise InfopipeError(
            f"dataset {name}", f"has {len(items)} items, mi_sweep.contexts asks for {config.contexts}"
        )
    return items[: config.contexts]


@DATASETS.register("world")
def world(config: Settings, name: str) -> list[Item]:
    rng = random.Random(config.seed)
    items = []
    for doc in from_tables(read_world(), "heldout")[: config.contexts]:
        question = rng.choice(doc.questions)
        items.append(
            Item(
                f"{doc.doc_id}-{question.kind}", doc.text, question.text, question.answer, doc.notes(question)
            )
        )
    return items


@DATASETS.register("jsonl")
def jsonl(config: Settings, name: str) -> list[Item]:
    path = Path(config.dataset_files.get(name, ""))
    items = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                Item(str(row.get("id", number)), row["context"], row["question"], str(row["answer"]))
            )
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise InfopipeError(
                f"{path}:{number}", f"expected JSON with context, question, answer ({err})"
            ) from None
        if len(items) == config.contexts:
            break
    return items
