"""World QA: a held-out world document and one question about it (reading comprehension);
correct when the gold answer is in the response's first line (the jobs' `accuracy`)."""

import random
from typing import Any

from tasks.answers import contains
from tasks.decoding.benchmarks.base import BENCHMARKS, Benchmark
from tasks.world.build import read_world
from tasks.world.document import from_tables


def documents(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs = []
    for doc in from_tables(read_world(), "heldout")[:count]:
        q = rng.choice(doc.questions)
        prompt = f"{doc.text}\n\nAnswer with a few words.\nQuestion: {q.text}\nAnswer:"
        docs.append(
            {"id": f"{doc.doc_id}-{q.kind}", "question": q.text, "answer": q.answer, "prompt": prompt}
        )
    return docs


BENCHMARKS.register("world_qa")(Benchmark(documents, contains))
