"""The world's task formats as text: training samples (with which characters carry loss) and the
held-out prompts each role is scored on. Prompts come from tasks/prompts/ (versioned files).

A training sample is one document followed by several role blocks, e.g.

    Document: <text>
    Question: Who founded Kalo Systems?
    Answer: Bara Tinth                     <- a target: " Bara Tinth\\n"
    Entities: Kalo Systems; Bara Tinth; ... <- a target: the list

so that the document's tokens are paid for once. The first block is exactly the role's prompt.
Training weighs the loss on every token and the loss on targets (TrainingConfig.loss).
"""

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from tasks import prompts
from tasks.world.document import SINGLE_HOP, Document

Segment = tuple[str, bool]  # text, whether it carries loss


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
    doc: Document, rng: random.Random, blocks: Mapping[str, float], kinds: Collection[str] | None = None
) -> list[Segment]:
    """One training sample; `blocks` are expected counts per role (1.5: one, a second half the time);
    answer blocks ask only questions of `kinds` when given."""
    chosen = []
    for role, expected in blocks.items():
        count = int(expected) + int(rng.random() < expected % 1)
        pool = targets(doc, role, rng)
        if role == "answer" and kinds is not None:
            pool = [pair for pair, q in zip(pool, doc.questions, strict=True) if q.kind in kinds]
        chosen += [(role, fields, target) for fields, target in rng.sample(pool, min(count, len(pool)))]
    rng.shuffle(chosen)
    segments: list[Segment] = [(prompts.CONTEXT.format(document=doc.text), False)]
    for role, fields, target in chosen:
        segments += [(prompts.load(role).task.format(**fields), False), (f" {target}\n", True)]
    return segments


@dataclass(frozen=True)
class Probe:
    """One held-out prompt with its gold output, and the answers that output should contain."""

    role: str  # a prompt name, or answer_no_context
    kind: str  # question kind, or the role again
    doc_id: str
    prompt: str
    gold: str
    answers: tuple[str, ...] = ()  # notes: the question's answer; keep: every single-hop answer
    document: str = ""  # keep: the text an extractive output takes its words from


def probes(doc: Document, rng: random.Random) -> list[Probe]:
    """Every role's held-out prompts for one document (single-hop questions for answering)."""
    out = []
    for q in doc.questions:
        for role, text in (("answer", doc.text), ("answer_no_context", "")):
            prompt = prompts.load("answer").render(document=text, question=q.text)
            out.append(Probe(role, q.kind, doc.doc_id, prompt, q.answer))
        if q.kind == "founder" or q.hops > 1:  # notes for one single-hop and every multi-hop question
            notes = _prompt("notes", doc, question=q.text)
            out.append(Probe("notes", q.kind, doc.doc_id, notes, doc.notes(q), answers=(q.answer,)))
    single_hop = tuple(q.answer for q in doc.questions if q.hops == 1)
    for role in ("entities", "relation", "keep"):
        for fields, gold in targets(doc, role, rng)[:1]:
            prompt = _prompt(role, doc, **fields)
            if role == "keep":  # scored for keeping the answers, extractively
                out.append(Probe(role, role, doc.doc_id, prompt, gold, single_hop, doc.text))
            else:
                out.append(Probe(role, role, doc.doc_id, prompt, gold))
    return out


def _prompt(name: str, doc: Document, **fields: str) -> str:
    return prompts.load(name).render(document=doc.text, **fields)
