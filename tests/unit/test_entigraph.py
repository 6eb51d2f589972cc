"""EntiGraph pieces without a model: parsing, planning under budgets, dedup, statistics, CPT
data, headline; and the generation steps on the registered `dummy` engine."""

import json
import math
import random
import re
from itertools import combinations

import polars as pl
import pytest

from tasks.entigraph import cpt
from tasks.entigraph.corpus import DocumentStore, deduplicate, distinct_ngrams, jaccard, shingles, statistics
from tasks.entigraph.entities import EXTRACTORS, clean, parse_json, precision_recall
from tasks.entigraph.relations import candidates, plan, request_seed, sample_triples
from tasks.entigraph.report import by_form, difference, headline, paired, slope
from tasks.entigraph.sources import SOURCES, Source
from tasks.entigraph.synthesis import choose, extract, synthesize
from tasks.errors import InfopipeError
from tasks.params import load_params

from ..conftest import ROOT


def params(*overrides):
    # The dummy engine has a byte tokenizer and no chat template.
    chat = "models.smollm2-135m-instruct.chat_template=false"
    return load_params(ROOT / "params.yaml", ["engine.backend=dummy", chat, *overrides])


DOC = "Ada Lovelace founded Analytical Works in London. Analytical Works makes the Engine One."
ENTITIES = ("Ada Lovelace", "Analytical Works", "London", "Engine One")


# -- step 1: entities -------------------------------------------------------------------------
def test_parse_json_reads_the_paper_format_inside_other_text():
    text = 'Sure! ```json\n{"summary": "A firm.", "entities": ["Ada", "London"]}\n``` Done.'
    assert parse_json(text) == ("A firm.", ["Ada", "London"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("I copied the article.", "no JSON object"),
        ('{"summary": "x", "entities": [1, 2]}', '"entities" is not a list of strings'),
        ('{"summary": 3, "entities": ["a"]}', '"summary" is not a string'),
        ('{"summary": "x", "entities": ["a",]}', "invalid JSON"),
        ("", "no JSON object"),
    ],
)
def test_parse_json_rejects_malformed_answers_with_a_reason(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_json(text)


def test_clean_deduplicates_ignoring_case_and_caps():
    assert clean([" Ada  Lovelace ", "ada lovelace", "", "London.", "Paris"], 2) == ("Ada Lovelace", "London")


def test_precision_recall_against_ground_truth():
    assert precision_recall(["Ada Lovelace", "london", "Moon"], ENTITIES) == (2 / 3, 2 / 4)
    assert precision_recall([], ENTITIES) == (0.0, 0.0)
    assert precision_recall(["Ada"], []) == (None, None)  # no ground truth (QuALITY)


def test_llm_extractor_retries_a_bounded_number_of_times_then_records_the_failure():
    # The dummy engine echoes the prompt's first bytes: never JSON.
    p = params("entigraph.entities.retries=2", "entigraph.entities.sampling.max_tokens=8")
    [result] = EXTRACTORS.get("llm")(p, [DOC])
    assert result.entities == () and result.attempts == 3 and result.error == "no JSON object"
    assert result.new_tokens == 3 * 8


def test_spacy_extractor_finds_named_entities_and_the_chain_falls_back_to_it():
    p = params(
        "entigraph.entities.extractors=[llm, spacy, family]",  # params.full.yaml's chain
        "entigraph.entities.sampling.max_tokens=8",
        "entigraph.entities.retries=0",
    )
    found = extract(p, [Source("d", DOC, ENTITIES)])
    assert found["llm"][0].error and "Ada Lovelace" in found["spacy"][0].entities
    [(name, chosen)] = choose(found)
    assert name == "spacy" and chosen is found["spacy"][0]


def test_unknown_extractor_is_a_config_error():
    where = r"entigraph\.entities\.extractors\.0"
    with pytest.raises(InfopipeError, match=rf"{where}: unknown extractor 'spacey'.*did you mean 'spacy'"):
        params("entigraph.entities.extractors=[spacey]")


# -- step 2: relations ------------------------------------------------------------------------
def test_triples_follow_the_reference_seeded_shuffle():
    # Reference (data/entigraph.py): all triples i<j<k, random.seed(42), random.shuffle.
    triples = list(combinations(range(7), 3))
    random.seed(42)
    random.shuffle(triples)
    assert sample_triples(7, 5, 42) == triples[:5]


def test_hundreds_of_entities_sample_triples_without_enumerating_them():
    chosen = sample_triples(400, 50, 42)  # 10.6M triples
    assert len(set(chosen)) == 50 and all(a < b < c < 400 for a, b, c in chosen)
    assert chosen == sample_triples(400, 50, 42)


def test_pairs_are_capped_and_triples_sampled():
    config = params(
        "entigraph.relations.max_pairs=4", "entigraph.relations.max_triples=2"
    ).entigraph.relations
    requests = candidates("d", DOC, ENTITIES, config)
    assert [r.kind for r in requests] == ["pair"] * 4 + ["triple"] * 2
    assert requests[0].entities == ("Ada Lovelace", "Analytical Works")
    assert "- Ada Lovelace\n- Analytical Works" in requests[0].prompt and DOC in requests[0].prompt
    assert requests[0].prompt_version == "entigraph_pair-v1"


def test_budgets_admit_requests_in_order_and_count_the_rest():
    config = params(
        "entigraph.relations.sampling.max_tokens=10",
        "entigraph.relations.doc_budget_tokens=30",
        "entigraph.relations.budget_tokens=50",
    ).entigraph.relations
    docs = [("a", DOC, ENTITIES), ("b", DOC, ENTITIES), ("c", DOC, ENTITIES)]
    result = plan(docs, config)
    per_doc = {d: sum(r.doc_id == d for r in result.requests) for d in "abc"}
    assert per_doc == {"a": 3, "b": 2, "c": 0}  # 3 by the document budget, then the run's budget
    assert result.skipped == {"a": 6 + 4 - 3, "b": 10 - 2, "c": 10}


@pytest.mark.parametrize("entities", [(), ("Ada",)])
def test_documents_with_fewer_than_two_entities_plan_nothing(entities):
    config = params().entigraph.relations
    result = plan([("d", DOC, entities)], config)
    assert result.requests == [] and result.skipped == {"d": 0}


def test_zero_budget_plans_nothing():
    config = params("entigraph.relations.budget_tokens=0").entigraph.relations
    result = plan([("d", DOC, ENTITIES)], config)
    assert result.requests == [] and result.skipped == {"d": 10}


def test_request_seed_is_stable_and_distinct():
    assert request_seed(0, "d", ["a", "b"]) == request_seed(0, "d", ["a", "b"])
    assert request_seed(0, "d", ["a", "b"]) != request_seed(0, "d", ["a", "c"])


# -- generation, resume -----------------------------------------------------------------------
def _synthesize(tmp_path, p, sources, chosen):
    store = DocumentStore(tmp_path / "documents", "h1")
    counts = synthesize(p, sources, chosen, store)
    return store, counts


def test_a_rerun_generates_only_missing_documents_and_ends_with_the_same_rows(tmp_path):
    p = params("entigraph.relations.sampling.max_tokens=16", "entigraph.relations.max_triples=1")
    spacy = EXTRACTORS.get("spacy")
    sources = [Source(f"d{i}", DOC.replace("London", f"City{i}"), ()) for i in range(3)]
    chosen = [("spacy", e) for e in spacy(p, [s.text for s in sources])]
    store, first = _synthesize(tmp_path, p, sources, chosen)
    before = store.read_all([s.doc_id for s in sources])
    assert first["resumed_documents"] == 0 and before.height == first["generated_requests"] > 0
    store.path("d1").unlink()  # killed before d1 was written
    store, second = _synthesize(tmp_path, p, sources, chosen)
    assert second["resumed_documents"] == 2
    assert second["generated_requests"] == before.filter(pl.col("doc_id") == "d1").height
    assert store.read_all([s.doc_id for s in sources]).equals(before)


def test_a_document_with_no_entities_is_only_rephrased_and_stale_files_are_pruned(tmp_path):
    p = params("entigraph.relations.sampling.max_tokens=8")
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "old-h0.parquet").write_bytes(b"stale")
    from tasks.entigraph.entities import Extraction

    store, counts = _synthesize(
        tmp_path, p, [Source("d", DOC, ())], [("spacy", Extraction((), error="no entities"))]
    )
    rows = store.read_all(["d"])
    styles = len(p.entigraph.rephrase.styles)
    assert counts["generated_requests"] == styles and store.done("d")
    assert rows["kind"].to_list() == ["rephrase"] * styles and rows["seed"].n_unique() == styles
    assert [f.name for f in (tmp_path / "documents").iterdir()] == ["d-h1.parquet"]


def test_rephrasings_are_their_own_corpus_and_their_own_cpt_run():
    from tasks.entigraph.synthesis import Synthesis, corpus

    rows = pl.DataFrame(
        {"doc_id": ["d"] * 3, "kind": ["pair", "rephrase", "rephrase"], "text": ["a b", "c d", "c d"]}
    )

    class Store:
        def read_all(self, ids):
            return rows

    made: Synthesis = corpus(params(), [Source("d", DOC, ())], {}, [], Store(), {})
    assert made.corpus["text"].to_list() == ["a b"] and made.rephrased["text"].to_list() == ["c d"]
    planned = cpt.runs([1, 2], [5, 6, 7, 8, 9], [1.0], rephrased=[3])
    assert [r.name for r in planned] == ["raw_cpt", "rephrase_cpt", "entigraph_5"]
    assert planned[1].tokens == [3] * 5 and planned[1].synthetic_tokens == 0
    assert [r.name for r in cpt.runs([1, 2], [5, 6], [1.0])] == ["raw_cpt", "entigraph_2"]


# -- step 3: corpus ---------------------------------------------------------------------------
def _rows(texts):
    return pl.DataFrame({"doc_id": ["d"] * len(texts), "text": texts})


def test_deduplicate_drops_empty_exact_and_near_duplicates_keeping_the_first():
    base = "Ada Lovelace founded Analytical Works in London in the year 1843 with friends."
    near = base.replace("friends", "partners")
    kept, counts = deduplicate(
        _rows([base, "  ", base.upper() + "!", near, "Something else entirely here."]), 0.7
    )
    assert kept["text"].to_list() == [base, "Something else entirely here."]
    assert counts == {"empty": 1, "exact_duplicate": 1, "near_duplicate": 1}
    assert jaccard(shingles(base), shingles(near)) == pytest.approx(8 / 10)


def test_distinct_ngrams():
    assert distinct_ngrams(["a b c a b c"]) == pytest.approx(3 / 4)
    assert distinct_ngrams([]) == 0.0


def test_statistics_ratio_and_coverage():
    corpus = pl.DataFrame(
        {
            "doc_id": ["d", "d"],
            "kind": ["pair", "triple"],
            "entities": [["Ada", "London"], ["Ada", "London", "Moon"]],
            "text": ["Ada met London.", "Ada, London."],
        }
    )
    stats = statistics(corpus, 300, 100, {"d": ["Ada", "London", "Moon"]})
    assert stats["synthetic_to_source_tokens"] == 3.0
    assert stats["entity_coverage"] == pytest.approx(2 / 3) and stats["pair_coverage"] == pytest.approx(1 / 3)


# -- step 4: CPT data -------------------------------------------------------------------------
class _Tok:
    bos_token_id, eos_token_id = 1, 2

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [10 + len(w) for w in text.split()]}


def test_stream_wraps_texts_and_budgets_are_prefixes():
    tokens = cpt.stream(["a bb", "ccc"], _Tok(), seed=0)
    assert sorted([tokens[:4], tokens[4:]]) == sorted([[1, 11, 12, 2], [1, 13, 2]])
    assert cpt.repeat_to([1, 2, 3], 7) == [1, 2, 3, 1, 2, 3, 1] and cpt.repeat_to([], 5) == []
    assert cpt.blocks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5]]


def test_replay_swaps_about_its_rate_of_blocks():
    train, replay = [[0]] * 2000, [[1]]
    mixed = cpt.with_replay(train, replay, 0.1, seed=0)
    assert 150 < sum(b == [1] for b in mixed) < 250
    assert cpt.with_replay(train, replay, 0.0, seed=0) is train


# -- headline ---------------------------------------------------------------------------------
def test_slope_is_per_doubling_of_tokens():
    assert slope([(100, 0.2), (200, 0.3), (400, 0.4)]) == pytest.approx(0.1)
    assert math.isnan(slope([(100, 0.2)]))


def _answers(correct: dict[str, list[int]], forms=("forward", "reversed")) -> pl.DataFrame:
    """Per model, 0/1 answers to the same questions: question i has form forms[i % len(forms)]."""
    return pl.DataFrame(
        [
            {"model": m, "doc_id": f"d{i}", "kind": "k", "form": forms[i % len(forms)], "acc": float(a)}
            for m, values in correct.items()
            for i, a in enumerate(values)
        ]
    )


def test_differences_are_paired_per_question_with_a_ci_per_form():
    answers = _answers({"a": [1, 1, 1, 0, 1, 1, 0, 1], "b": [0, 1, 0, 0, 1, 0, 0, 0]})
    assert paired(answers, "a", "b") == [1, 0, 1, 0, 0, 1, 0, 1]
    diff = difference(answers, "a", "b")
    assert diff["all"]["difference"] == pytest.approx(0.5) and diff["all"]["questions"] == 8
    assert diff["forward"]["difference"] == pytest.approx(0.5) and diff["reversed"]["questions"] == 4
    low, high = diff["all"]["ci95"]
    assert 0.0 <= low < 0.5 < high <= 1.0
    # Paired: a constant +1 shift on every question has no spread at all.
    same = difference(_answers({"a": [1] * 8, "b": [0] * 8}), "a", "b")["all"]
    assert same["ci95"] == [1.0, 1.0]
    assert by_form(answers) == {
        "a": {"forward": 0.75, "reversed": 0.75},
        "b": {"forward": 0.25, "reversed": 0.25},
    }


def test_headline_needs_entigraph_above_both_baselines_a_rising_budget_and_reading():
    n = 40
    answers = _answers(
        {
            "raw_cpt": [i % 4 == 0 for i in range(n)],
            "rephrase_cpt": [i % 4 == 1 for i in range(n)],
            "entigraph_100": [i % 2 == 0 for i in range(n)],
            "entigraph_200": [True] * n,
        }
    )
    acc = {"raw_cpt": 0.25, "rephrase_cpt": 0.25, "entigraph_100": 0.5, "entigraph_200": 1.0, "base": 0.3}
    synthetic = {"entigraph_100": 100, "entigraph_200": 200}
    result = headline({**acc, "in_context": 0.9}, synthetic, answers)
    assert result["entigraph_minus_raw_cpt"] == pytest.approx(0.75)
    assert result["entigraph_minus_raw_cpt_ci95"][0] > 0 and result["entigraph_beats_rephrase_cpt"]
    assert set(result["entigraph_minus_raw_cpt_by_form"]) == {"forward", "reversed"}
    assert result["accuracy_rises_with_budget"] and result["headline_met"]
    assert not headline({**acc, "in_context": 0.2}, synthetic, answers)["headline_met"]
    tied = headline({**acc, "in_context": 0.9}, synthetic, answers.with_columns(acc=pl.lit(1.0)))
    assert not tied["entigraph_beats_raw_cpt"] and not tied["headline_met"]


# -- sources ----------------------------------------------------------------------------------
def _article(article_id, title="The Sky Ship", author="Ann Lee"):
    return {
        "article_id": article_id,
        "set_unique_id": f"{article_id}_x",
        "title": title,
        "author": author,
        "year": 1955,
        "article": "The ship rose. Mara steered it home.",
        "questions": [
            {"question": "Who steered the ship?", "options": ["Ann", "Mara", "Tom", "Lee"], "gold_label": 2}
        ],
    }


def test_quality_reader_renders_like_the_reference_and_dedups_by_title_and_author(tmp_path):
    path = tmp_path / "quality.jsonl"
    rows = [_article("20001"), _article("20001b"), _article("20002", title="Moon Dust")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = params("entigraph.source=quality", f"entigraph.quality_file={path}")
    sources = SOURCES.get("quality")(p)
    assert [s.doc_id for s in sources] == ["20001", "20002"] and sources[0].truth == ()
    assert sources[0].text.startswith('"The Sky Ship", Ann Lee, 1955.\nThe ship rose.')
    [q] = sources[0].questions
    assert (
        q["question"] == 'In the context of "The Sky Ship", written by Ann Lee in 1955, who steered the ship?'
    )
    assert q["label"] == 1 and q["choices"][q["label"]] == "Mara" == q["answer"]


def test_a_bad_quality_line_is_named(tmp_path):
    path = tmp_path / "quality.jsonl"
    path.write_text(json.dumps(_article("1")) + "\n" + '{"title": "x"}\n')
    p = params("entigraph.source=quality", f"entigraph.quality_file={path}")
    with pytest.raises(InfopipeError, match=r"quality\.jsonl:2: expected a QuALITY article"):
        SOURCES.get("quality")(p)


def test_quality_source_needs_its_file():
    with pytest.raises(InfopipeError, match="source quality needs quality_file"):
        params("entigraph.source=quality")


# -- question forms and faithfulness ----------------------------------------------------------
def _world():
    from tasks.world.build import build_world
    from tasks.world.config import WorldConfig, WorldSplit
    from tasks.world.document import from_tables

    small = WorldConfig(
        train=WorldSplit(organisations=10, people=20, cities=5, products=10),
        heldout=WorldSplit(organisations=12, people=24, cities=4, products=12),
    )
    tables = build_world(small)
    return from_tables(tables, "train"), from_tables(tables, "heldout")


def _trigrams(template: str) -> set[tuple[str, ...]]:
    """Word 3-grams of a template's literal text (slots cut the text; none spans a slot)."""
    out = set()
    for literal in re.split(r"\{\w+\}", template.lower()):
        words = re.findall(r"[a-z']+", literal)
        out |= {tuple(words[i : i + 3]) for i in range(len(words) - 2)}
    return out


def test_paraphrased_questions_share_no_wording_with_any_document_template():
    from tasks.entigraph.questions import PARAPHRASED
    from tasks.world.render import TEMPLATES

    documents = set().union(*(_trigrams(t) for ts in TEMPLATES.values() for t in ts))
    for kind, template in PARAPHRASED.items():
        assert not _trigrams(template) & documents, kind
        assert _trigrams(template), kind  # the check has something to check


def test_every_document_is_asked_forward_reversed_and_paraphrased_with_one_right_choice():
    from tasks.entigraph import qa
    from tasks.entigraph.config import QaConfig
    from tasks.entigraph.questions import FORMS, company

    _, heldout = _world()
    rows = qa.items(heldout[:6], heldout, QaConfig())
    per_doc = {f: sum(r["form"] == f for r in rows if r["doc_id"] == heldout[0].doc_id) for f in FORMS}
    assert per_doc == {"forward": 6, "reversed": 4, "paraphrased": 6}
    truth = {d.doc_id: {q.kind: q.answer for q in d.questions} for d in heldout}
    companies = {company(d): truth[d.doc_id] for d in heldout}
    for row in rows:
        assert row["choices"][row["label"]] == row["answer"] and len(set(row["choices"])) == 4
        if row["form"] == "reversed":
            assert row["answer"] == company(next(d for d in heldout if d.doc_id == row["doc_id"]))
            assert row["answer"] not in row["question"]
            gold = truth[row["doc_id"]][row["kind"]]
            # No distractor is a company with the same answer (a shared city): exactly one is right.
            assert [companies[c][row["kind"]] == gold for c in row["choices"]].count(True) == 1
        else:
            assert row["answer"] == truth[row["doc_id"]][row["kind"]]


def test_faithfulness_flags_mentions_without_a_true_partner():
    from tasks.entigraph.faithfulness import faithfulness, world_facts

    train, heldout = _world()
    facts = world_facts([*train, *heldout])
    doc, other = heldout[0], heldout[1]
    answers = {q.kind: q.answer for q in doc.questions}
    foreign = {q.kind: q.answer for q in other.questions}
    name = next(n for n, kind, _, _ in doc.entities if kind == "organisation")
    true = f"{answers['founder']} set up {name} in {answers['founded']}."
    wrong_year = f"{name} was created in {int(answers['founded']) + 1} by {answers['founder']}."
    wrong_person = f"{foreign['founder']} leads {name}."
    single = f"{name} is a company."
    result = faithfulness([f"{true} {wrong_year}", f"{wrong_person} {single}"], facts, tokens=500)
    assert result["relating_sentences"] == 3 and result["faithful_share"] == pytest.approx(1 / 3)
    assert result["invented_facts"] == 3  # the year; the foreign founder and the company he is not tied to
    assert result["invented_facts_per_1k_tokens"] == pytest.approx(6.0)
    # The world's own documents are faithful by construction: the metric's check on itself.
    own = faithfulness([d.text for d in heldout], facts, tokens=1000)
    assert own["faithful_share"] == 1.0 and own["invented_facts"] == 0 and own["relating_sentences"] > 30
