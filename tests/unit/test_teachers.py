"""Distillation teachers without models: the world's truth, the oracle teacher, label quality
against the truth, and the teacher config's rules."""

import polars as pl
import pytest

from tasks.compression import gpt_tokens
from tasks.compression.annotate import label_table
from tasks.compression.distil import sources
from tasks.compression.teachers import TEACHERS
from tasks.compression.truth import content, label_quality, oracle_text, truth_ranges, truth_rate
from tasks.errors import InfopipeError
from tasks.params import load_params
from tasks.world.build import build_world
from tasks.world.config import WorldConfig, WorldSplit
from tasks.world.document import from_tables

from ..conftest import ROOT


@pytest.fixture(scope="module")
def docs():
    config = WorldConfig(
        seed=3,
        train=WorldSplit(organisations=12, people=24, cities=8, products=12),
        heldout=WorldSplit(organisations=2, people=4, cities=2, products=2),
    )
    return from_tables(build_world(config), "train")


def distilled(chunks, teacher: str, outputs: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "teacher": [teacher] * len(chunks),
            "source": [c.source for c in chunks],
            "chunk_id": [c.chunk_id for c in chunks],
            "text": [c.text for c in chunks],
            "compressed": outputs,
        }
    )


def test_truth_ranges_are_the_fact_sentences_less_repeated_names(docs):
    for doc in docs:
        (chunk,) = sources([doc], [], 512)
        ranges = truth_ranges(doc, chunk.text)
        kept = " ".join(chunk.text[s:e] for s, e in ranges)
        facts = [doc.text[s:e] for _, s, e in sorted(doc.facts, key=lambda f: f[1])]
        named = [n for n, _, s, _ in doc.entities if any(a <= s < b for _, a, b in doc.facts)]
        # Each name the facts give is kept once; everything else of the facts is kept.
        for name in set(named):
            assert kept.count(name) == 1, (name, kept)
        assert (
            len(kept)
            == sum(map(len, facts))
            - sum(len(n) for i, n in enumerate(named) if n in named[:i])
            + len(ranges)
            - 1
        )  # joined by spaces
        oracle = oracle_text(chunk.text, ranges)
        words = iter(doc.kept().split())
        assert all(w in words for w in oracle.split())  # an in-order subset of the facts' words
        assert all(q.answer in oracle for q in doc.questions)  # every answer survives


def test_oracle_labels_score_near_one_and_keep_everything_scores_the_truths_share(docs):
    chunks = sources(docs, [("austen-0", "It is a truth universally acknowledged.")], 512)
    oracle = TEACHERS.get("oracle")(None, None).compress(chunks)
    assert oracle[-1] is None and all(o for o in oracle[:-1])  # no truth for real text
    world = [c for c in chunks if c.facts is not None]
    facts = {c.chunk_id: c.facts for c in world}
    table = pl.concat(
        [
            distilled(world, "oracle", [o for o in oracle if o is not None]),
            distilled(world, "everything", [c.text for c in world]),
            distilled(world, "nothing", [""] * len(world)),
        ]
    )
    labels = label_table(table, window=400, quantile=1.0, max_variation=0.2, facts=facts)
    quality = label_quality(labels)
    # The oracle's text is aligned back like any teacher's: a name repeated outside the facts can
    # take a label, so not exactly 1 (0.95: a bound on that, decided before measuring).
    assert quality["oracle"]["f1"] > 0.95
    truth = [t for row in labels.filter(pl.col("teacher") == "everything").iter_rows(named=True)
             for w, t in zip(row["words"], row["truth"], strict=True) if content(w)]  # fmt: skip
    assert quality["everything"]["recall"] == 1.0
    assert quality["everything"]["precision"] == pytest.approx(sum(truth) / len(truth))
    assert quality["nothing"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert 0.2 < sum(truth) / len(truth) < 0.8  # the truth drops boilerplate, distractors, function words


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("compression.teacher=nobody", "teacher: 'nobody' is not one of the teachers"),
        (
            "compression.teachers=[{name: a, method: extractive}]",
            "model: teacher a (extractive) needs a model",
        ),
        ("compression.teachers=[{name: a, method: orcle}]", "did you mean 'oracle'"),
        ("compression.teachers=[{name: a, method: oracle}, {name: a, method: oracle}]", "names repeat"),
    ],
)
def test_bad_teacher_configs_fail_in_one_line(override, message):
    with pytest.raises(InfopipeError) as err:
        load_params(
            ROOT / "params.yaml",
            [override, "compression.teacher=a"] if "teachers=" in override else [override],
        )
    assert message in str(err.value) and "\n" not in str(err.value)


def test_truth_rate_is_the_share_of_gpt_tokens_the_oracle_keeps(docs):
    kept = sum(gpt_tokens.count(oracle_text(d.text, truth_ranges(d, d.text))) for d in docs)
    assert truth_rate(docs) == kept / sum(gpt_tokens.count(d.text) for d in docs)
    everything = sum(gpt_tokens.count(d.kept()) for d in docs) / sum(gpt_tokens.count(d.text) for d in docs)
    assert 0.3 < truth_rate(docs) < everything < 0.9  # a name said once: below every mention
