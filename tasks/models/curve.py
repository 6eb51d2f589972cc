"""Reading along training: held-out single-hop accuracy by question kind at each checkpoint.

Measured in-process on the model being trained, with transformers greedy decoding (the hf engine's
numerics), so that the emergence of reading is a curve (reports/models/curves/<member>.json)
without starting an inference engine per checkpoint. The final scores go through the engine.
"""

import random
from typing import Any

from tasks.hf import generation
from tasks.models.evaluate import NAME_KINDS, score
from tasks.models.formats import Probe, probes
from tasks.samplers import SamplingConfig
from tasks.world.document import SINGLE_HOP, Document

GREEDY = SamplingConfig(max_tokens=16, stop=["\n"], logprobs=0, entropy=False)


def curve_probes(docs: list[Document], seed: int) -> list[Probe]:
    """The single-hop questions of `docs`, with their document, shortest prompt first."""
    rng = random.Random(seed)
    found = [p for doc in docs for p in probes(doc, rng) if p.role == "answer" and p.kind in SINGLE_HOP]
    return sorted(found, key=lambda p: len(p.prompt))  # similar lengths batch with little padding


def reading(model: Any, tokenizer: Any, items: list[Probe], batch_size: int = 64) -> dict[str, float]:
    """Exact match over `items`: all single-hop, the name kinds, and each kind."""
    ids = [tokenizer(p.prompt)["input_ids"] for p in items]
    rows = generation.generate(model, tokenizer, ids, GREEDY, [0] * len(ids), batch_size)
    by_kind: dict[str, list[float]] = {}
    for probe, row in zip(items, rows, strict=True):
        by_kind.setdefault(probe.kind, []).append(score(probe, row["text"]))
    every = [s for values in by_kind.values() for s in values]
    names = [s for kind in NAME_KINDS for s in by_kind.get(kind, [])]
    return {
        "single_hop": sum(every) / len(every),
        "names": sum(names) / len(names) if names else float("nan"),
        **{kind: sum(v) / len(v) for kind, v in sorted(by_kind.items())},
    }
