import pytest

from tasks.errors import InfopipeError
from tasks.params import load_params
from tasks.world.build import build_world, summarize
from tasks.world.config import WorldConfig, WorldSplit
from tasks.world.render import DISTRACTORS

from ..conftest import ROOT

SMALL = WorldConfig(
    train=WorldSplit(organisations=60, people=120, cities=20, products=60),
    heldout=WorldSplit(organisations=20, people=40, cities=10, products=20),
)
NAMED = ("person", "organisation", "city", "product")


@pytest.fixture(scope="module")
def world():
    return build_world(SMALL)


def test_same_seed_same_world_other_seed_other_world(world):
    again = build_world(SMALL)
    assert all(world[name].equals(again[name]) for name in world)
    other = build_world(SMALL.model_copy(update={"seed": 1}))
    assert not world["documents"].equals(other["documents"])


def test_splits_share_no_entity(world):
    entities = world["entities"].join(world["documents"].select("doc_id", "split"), on="doc_id")
    named = entities.filter(entities["type"].is_in(NAMED))
    train = set(named.filter(named["split"] == "train")["name"])
    heldout = set(named.filter(named["split"] == "heldout")["name"])
    assert train and heldout and not train & heldout
    assert world["documents"]["split"].value_counts().sort("split").rows() == [("heldout", 20), ("train", 60)]


def test_entity_and_fact_spans_point_into_the_text(world):
    texts = dict(world["documents"].select("doc_id", "text").rows())
    for doc_id, name, _, start, end in world["entities"].rows():
        assert texts[doc_id][start:end] == name
    for doc_id, relation, start, end in world["facts"].rows():
        sentence = texts[doc_id][start:end]
        assert sentence.endswith(".") and relation
    assert set(world["entities"]["type"]) == {*NAMED, "year", "amount"}


def test_answers_lie_in_their_supporting_sentences(world):
    texts = dict(world["documents"].select("doc_id", "text").rows())
    questions = world["questions"]
    assert set(questions["hops"]) == {1, 2}
    for row in questions.iter_rows(named=True):
        supports = [
            texts[row["doc_id"]][s:e] for s, e in zip(row["support_starts"], row["support_ends"], strict=True)
        ]
        assert len(supports) == row["hops"]
        assert any(row["answer"] in sentence for sentence in supports), row
        assert row["answer"] not in row["question"]


def test_documents_vary_and_carry_droppable_text(world):
    texts = world["documents"]["text"].to_list()
    assert sum(any(d in t for d in DISTRACTORS) for t in texts) == len(texts)
    founded = world["facts"].filter(world["facts"]["relation"] == "founded_by")
    texts_by_id = dict(world["documents"].select("doc_id", "text").rows())
    phrasings = {
        next(p for p in ("was founded by", "traces its origins", "started", "founded") if p in sentence)
        for sentence in (texts_by_id[d][s:e] for d, _, s, e in founded.rows())
    }
    assert len(phrasings) == 4  # every paraphrase of the lead sentence is used
    assert 0.1 < summarize(world)["distractor_share"] < 0.6
    bare = build_world(SMALL.model_copy(update={"distractors": 0, "boilerplate": False}))
    assert summarize(bare)["distractor_share"] == 0.0


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("world.train.people=10", "world.train.people: 10 < 2 per organisation"),
        ("world.heldout.products=5", "world.heldout.products: 5 < one per organisation"),
        ("world.train.organisations=0", "world.train.organisations: Input should be greater than 0"),
        ("world.train.cities=-3", "world.train.cities: Input should be greater than 0"),
        ("world.distractors=20", "world.distractors"),
    ],
)
def test_impossible_worlds_fail_before_building(override, expected):
    with pytest.raises(InfopipeError, match=expected):
        build_world(load_params(ROOT / "params.yaml", [override]).world)


def test_more_names_than_exist_is_an_error():
    huge = SMALL.model_copy(
        update={"train": WorldSplit(organisations=10, people=20, cities=10**6, products=10)}
    )
    with pytest.raises(InfopipeError, match=r"world\.train\.cities: 1000000 cities exceed"):
        build_world(huge)
