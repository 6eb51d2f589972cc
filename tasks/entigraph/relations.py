"""Step 2: relation analyses. For each document, every entity pair (capped) and triples sampled
with a fixed seed, admitted in that order while their reserved tokens (`max_tokens` each) fit
the document's and the run's budgets. All admitted requests go to the engine as one batch.

Budgets are reservations, decided for all documents before anything runs, so a resumed run
admits exactly the requests the first run admitted.
"""

import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from tasks import prompts
from tasks.entigraph.config import RelationsConfig

EXACT_TRIPLES = 50_000  # up to this many triples they are enumerated and shuffled, as the paper


@dataclass(frozen=True)
class Request:
    doc_id: str
    kind: str  # pair | triple
    entities: tuple[str, ...]
    prompt: str
    prompt_version: str
    seed: int


@dataclass(frozen=True)
class Plan:
    requests: list[Request]
    skipped: dict[str, int]  # doc_id -> pairs and triples left out by the budgets or caps


def sample_triples(n: int, k: int, seed: int) -> list[tuple[int, int, int]]:
    """`k` distinct index triples i<j<l of `n`: the paper's seeded shuffle of all triples, or
    seeded rejection sampling when there are too many to enumerate (hundreds of entities)."""
    total = math.comb(n, 3)
    rng = random.Random(seed)
    if total <= EXACT_TRIPLES:
        triples = list(combinations(range(n), 3))
        rng.shuffle(triples)
        return triples[:k]
    chosen: dict[tuple[int, int, int], None] = {}
    while len(chosen) < min(k, total):
        a, b, c = sorted(rng.sample(range(n), 3))
        chosen.setdefault((a, b, c))
    return list(chosen)


def request_seed(base: int, doc_id: str, entities: Sequence[str]) -> int:
    """A stable per-request seed: the same request samples the same text in any batch."""
    return (base + zlib.crc32("\x1f".join([doc_id, *entities]).encode())) % 2**31


def candidates(doc_id: str, text: str, entities: Sequence[str], config: RelationsConfig) -> list[Request]:
    """Pairs in entity order (capped), then sampled triples, before any token budget."""
    pair, triple = prompts.load(config.pair_prompt), prompts.load(config.triple_prompt)
    base = 0 if config.sampling.seed is None else config.sampling.seed
    groups: list[tuple[str, prompts.Prompt, Sequence[tuple[int, ...]]]] = [
        ("pair", pair, list(combinations(range(len(entities)), 2))[: config.max_pairs]),
        ("triple", triple, sample_triples(len(entities), config.max_triples, config.seed)),
    ]
    out = []
    for kind, prompt, index_sets in groups:
        for indices in index_sets:
            names = tuple(entities[i] for i in indices)
            bullets = "\n".join(f"- {name}" for name in names)
            out.append(
                Request(
                    doc_id,
                    kind,
                    names,
                    prompt.render(document=text, entities=bullets),
                    prompt.tag,
                    request_seed(base, doc_id, names),
                )
            )
    return out


def plan(docs: Sequence[tuple[str, str, Sequence[str]]], config: RelationsConfig) -> Plan:
    """The requests of (doc_id, text, entities) documents that fit the budgets, in order."""
    cost = config.sampling.max_tokens
    requests: list[Request] = []
    skipped: dict[str, int] = {}
    used = 0
    for doc_id, text, entities in docs:
        wanted = candidates(doc_id, text, entities, config)
        room = min(config.doc_budget_tokens, config.budget_tokens - used) // cost
        admitted = wanted[: max(room, 0)]
        requests += admitted
        used += cost * len(admitted)
        skipped[doc_id] = math.comb(len(entities), 2) + math.comb(len(entities), 3) - len(admitted)
    return Plan(requests, skipped)
