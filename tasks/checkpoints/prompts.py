"""The prompt sets of the RL jobs: (prompt, gold answer) items a verifier can check.

`world`  single-hop world questions with their document in context, rendered with the family's
         `answer` prompt: the train split for GRPO (stage `rl_run`), the held-out split, whose
         entities training never saw, for evaluation (stage `checkpoints`)
<file>   a JSONL file with `prompt` and `answer` per line (gpu profile: the user's own task)
"""

import json
import random
from dataclasses import dataclass
from pathlib import Path

from tasks import prompts
from tasks.errors import InfopipeError
from tasks.io import read_text
from tasks.models.formats import SINGLE_HOP
from tasks.world.build import read_world
from tasks.world.document import from_tables


@dataclass(frozen=True)
class Item:
    item_id: str
    prompt: str
    answer: str


def load(dataset: str, split: str, kinds: list[str], count: int, seed: int) -> list[Item]:
    """`count` items: world questions of `kinds` (all single-hop kinds when empty), or a file's."""
    items = world(split, kinds, seed) if dataset == "world" else jsonl(Path(dataset))
    if len(items) < count:
        raise InfopipeError(f"dataset {dataset}", f"has {len(items)} {split} items, {count} asked for")
    return items[:count]


def world(split: str, kinds: list[str], seed: int) -> list[Item]:
    template = prompts.load("answer")
    wanted = set(kinds or SINGLE_HOP)
    items = [
        Item(f"{doc.doc_id}-{q.kind}", template.render(document=doc.text, question=q.text), q.answer)
        for doc in from_tables(read_world(), split)
        for q in doc.questions
        if q.kind in wanted
    ]
    random.Random(seed).shuffle(items)
    return items


def jsonl(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InfopipeError(f"{path}:{number}", "is not valid JSON") from None
        missing = [k for k in ("prompt", "answer") if not isinstance(row.get(k), str) or not row[k].strip()]
        if missing:
            raise InfopipeError(f"{path}:{number}", f"needs a non-empty string {missing[0]!r}")
        items.append(Item(str(row.get("id", number)), row["prompt"], row["answer"]))
    return items
