"""The world's task formats as text: training samples (with which characters carry loss) and the
held-out prompts each role is scored on. Prompts come from tasks/prompts/ (versioned files).

A training sample is one document followed by several role blocks, e.g.

    Document: <text>
    Question: Who founded Kalo Systems?
    Answer: Bara Tinth                     <- loss on " Bara Tinth\\n" only
    Entities: Kalo Systems; Bara Tinth; ... <- loss on the list

so that the document's tokens are paid for once. The first block is exactly the role's prompt.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass

from tasks import prompts
from tasks.world.document import QUESTIONS, Document

Segment = tuple[str, bool]  # text, whether it carries loss
SINGLE_HOP = tuple(kind for kind, (_, _, supports) in QUESTIONS.items() if len(supports) == 1)
MULTI_HOP = tuple(kind for kind in QUESTIONS if kind not in SINGLE_HOP)


def known_single_hop(kinds: list[str]) -> None:
    """A ValueError naming the first kind that is not a single-hop question kind (config checks)."""
    unknown = sorted(set(kinds) - set(SINGLE_HOP))
    if unknown:
        raise ValueError(f"kinds: unknown question kind {unknown[0]!r} (known: {', '.join(SINGLE_HOP)})")


SEPARATOR = "; "  # between listed entities


def targets(doc: Document, role: str, rng: random.Random) -> list[tuple[dict[str, str], str]]:
    """(prompt fields, target) pairs of one role for one document; targets are one line."""
    if role == "answer":
        return [({"question": q.text}, q.answer) for q in doc.questions]
    if role == "notes":
        return [({"question": q.text}, doc.notes(q)) for q in doc.questions]
    if role == "entities":
        return [({}, SEPARATOR.join(doc.salient()))]
    if role == "relation":
        pairs = []
        for first, second, sentence in doc.relations():
            if rng.random() < 0.5:  # either order names the same relation
                first, second = second, first
            pairs.append(({"first": first, "second": second}, sentence))
        return pairs
    if role == "keep":
        return [({}, doc.kept())]
    raise KeyError(role)


def sample(
    doc: Document, rng: random.Random, blocks: Mapping[str, float], document_share: float
) -> list[Segment]:
    """One training sample; `blocks` are expected counts per role (1.5: one, a second half the time)."""
    if rng.random() < document_share:
        return [(prompts.load("document").render(document=doc.text), True)]
    chosen = []
    for role, expected in blocks.items():
        count = int(expected) + int(rng.random() < expected % 1)
        pool = targets(doc, role, rng)
        chosen += [(role, fields, target) for fields, target in rng.sample(pool, min(count, len(pool)))]
    rng.shuffle(chosen)
    segments: list[Segment] = [(prompts.CONTEXT.format(document=doc.text), False)]
    for role, fields, target in chosen:
        segments += [(prompts.load(role).task.format(**fields), False), (f" {target}\n", True)]
    return segments


@dataclass(frozen=True)
class Probe:
    """One held-out prompt with its gold answer."""

    role: str  # a prompt name, or answer_no_context
    kind: str  # question kind, or the role again
    doc_id: str
    prompt: str
    gold: str


def probes(doc: Document, rng: random.Random) -> list[Probe]:
    """Every role's held-out prompts for one document (single-hop questions for answering)."""
    out = []
    for q in doc.questions:
        for role, text in (("answer", doc.text), ("answer_no_context", "")):
            prompt = prompts.load("answer").render(document=text, question=q.text)
            out.append(Probe(role, q.kind, doc.doc_id, prompt, q.answer))
        if q.kind == "founder" or q.hops > 1:  # notes for one single-hop and every multi-hop question
            out.append(
                Probe("notes", q.kind, doc.doc_id, _prompt("notes", doc, question=q.text), doc.notes(q))
            )
    for role in ("entities", "relation", "keep"):
        for fields, gold in targets(doc, role, rng)[:1]:
            out.append(Probe(role, role, doc.doc_id, _prompt(role, doc, **fields), gold))
    return out


def _prompt(name: str, doc: Document, **fields: str) -> str:
    return prompts.load(name).render(document=doc.text, **fields)
