"""Training samples and held-out probes of the world's task formats."""

import random

import pytest

from tasks import prompts
from tasks.models.formats import SEPARATOR, probes, sample, targets
from tasks.world.build import build_world
from tasks.world.config import WorldConfig, WorldSplit
from tasks.world.document import STOPWORDS, from_tables

SMALL = WorldConfig(
    train=WorldSplit(organisations=10, people=20, cities=5, products=10),
    heldout=WorldSplit(organisations=5, people=10, cities=5, products=5),
)


@pytest.fixture(scope="module")
def docs():
    return from_tables(build_world(SMALL), "heldout")


def test_documents_from_tables_carry_their_ground_truth(docs):
    assert len(docs) == 5
    for doc in docs:
        for q in doc.questions:
            assert all(q.answer in doc.text[s:e] for s, e in q.spans[-1:])  # the last hop holds it
            assert q.answer in doc.notes(q)
        salient = doc.salient()
        assert len(salient) == len(set(salient)) >= 4
        assert all(name in doc.text for name in salient)
        for first, second, sentence in doc.relations():
            assert first in sentence and second in sentence and sentence in doc.text


def test_kept_words_are_the_fact_sentences_in_order_without_function_words(docs):
    doc = docs[0]
    kept = doc.kept().split()
    assert not {w.lower().strip(".,") for w in kept} & STOPWORDS
    words = doc.text.split()
    positions = [words.index(w) for w in kept[:5]]
    assert positions == sorted(positions)  # extractive and in order
    assert all(name in doc.kept() for name in doc.salient())


def test_a_sample_is_the_document_then_blocks_with_loss_on_targets_only(docs):
    rng = random.Random(0)
    segments = sample(docs[0], rng, {"answer": 3, "entities": 1})
    assert segments[0] == (prompts.CONTEXT.format(document=docs[0].text), False)
    trained = [text for text, loss in segments if loss]
    assert len(trained) == 4 and all(t.startswith(" ") and t.endswith("\n") for t in trained)
    assert f" {SEPARATOR.join(docs[0].salient())}\n" in trained
    answers = {q.answer for q in docs[0].questions}
    assert sum(t.strip() in answers for t in trained) == 3
    # The first block is exactly the role's prompt, as the jobs render it.
    text = "".join(t for t, _ in segments[:2])
    assert text in {
        prompts.load("answer").render(document=docs[0].text, question=q.text) for q in docs[0].questions
    } | {prompts.load("entities").render(document=docs[0].text)}


def test_a_count_above_the_pool_takes_every_question_once(docs):
    segments = sample(docs[0], random.Random(0), {"answer": 20})
    answers = [text.strip() for text, loss in segments if loss]
    assert len(answers) == len(docs[0].questions)
    assert sorted(answers) == sorted(q.answer for q in docs[0].questions)


def test_probes_cover_every_role_and_no_context_hides_the_document(docs):
    found = probes(docs[0], random.Random(0))
    roles = {p.role for p in found}
    assert roles == {"answer", "answer_no_context", "notes", "entities", "relation", "keep"}
    for probe in found:
        hidden = probe.role == "answer_no_context"
        assert (docs[0].text in probe.prompt) is not hidden
    relation = next(p for p in found if p.role == "relation")
    assert relation.gold in [s for _, _, s in docs[0].relations()]


def test_relation_targets_name_both_entities_in_either_order(docs):
    orders = {
        (fields["first"], fields["second"])
        for seed in range(20)
        for fields, _ in targets(docs[0], "relation", random.Random(seed))
    }
    assert any((b, a) in orders for a, b in orders)
