"""Compression building blocks without models: words, budgets, word-level baselines, alignment,
scoring and reports."""

import polars as pl
import pytest

from tasks.compression import Budget
from tasks.compression.annotate import align, filter_tails
from tasks.compression.base import keep_top
from tasks.compression.evaluate import normalize, qa_score, retained, summarize
from tasks.compression.random_drop import RandomDrop
from tasks.compression.report import headline, paired, summary_table
from tasks.compression.truncate import Truncate
from tasks.compression.words import join, split
from tasks.errors import InfopipeError
from tasks.params import load_params
from tasks.stats import bootstrap_ci

from ..conftest import ROOT

TEXT = "Nanur Zugosa started Gisurk Dynamics in 1963. The company's CEO, Vefex Satol, lives in Solondhaven."


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "params.yaml")


def test_words_rebuild_the_original_exactly_and_split_like_bert():
    words = split(TEXT)
    assert join(words, [True] * len(words)) == TEXT
    assert [w.text for w in split("a_b don't $5")] == ["a", "_", "b", "don", "'", "t", "$", "5"]
    keep = [w.text in {"Zugosa", "1963", "."} for w in words]
    assert join(words, keep) == "Zugosa 1963.."


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"rate": 0.0}, "rate"), ({"rate": 1.5}, "rate"), ({"target_token": 0}, "target_token"), ({}, "budget")],
)
def test_bad_budgets_name_their_field(kwargs, field):
    with pytest.raises(InfopipeError, match=field):
        Budget(**kwargs)


@pytest.mark.parametrize("context", ["", "   \n\t"])
def test_empty_contexts_are_refused(params, context):
    with pytest.raises(InfopipeError, match="context 1"):
        Truncate(params).compress(["fine", context], Budget(rate=0.5))


def test_truncate_keeps_a_prefix_within_the_rate(params):
    (out,) = Truncate(params).compress([TEXT], Budget(rate=0.5))
    assert TEXT.startswith(out.text) and 0 < out.rate <= 0.55
    (full,) = Truncate(params).compress([TEXT], Budget(rate=1.0))
    assert full.text == TEXT and full.ratio == 1.0


def test_random_drop_is_seeded_and_meets_target_tokens(params):
    texts = [TEXT * 4, TEXT]
    first = RandomDrop(params).compress(texts, Budget(target_token=30))
    again = RandomDrop(params).compress(list(reversed(texts)), Budget(target_token=30))
    assert first[0].text == again[1].text  # a text's sample does not depend on its batch
    assert first[0].compressed_tokens <= 33 and first[0].keep is not None
    assert first[1].original_tokens < 30 or first[1].compressed_tokens <= 33


def test_keep_top_respects_the_weighted_budget():
    assert keep_top([0.9, 0.1, 0.8, 0.5], [1, 1, 2, 1], 0.6) == [True, False, True, False]
    assert keep_top([0.1, 0.2], [5, 5], 1.0) == [True, True]


def oracle_align(original, compressed, window):
    """label_word.py's loop, written out literally as in the reference code."""
    labels = [False] * len(original)
    prev = 0
    for c in compressed:
        for i in range(window):
            j = min(prev + i, len(original) - 1)
            if not labels[j] and original[j].lower() == c.lower():
                labels[j] = True
                if i > window // 2:
                    prev += window // 2
                else:
                    prev = j
                break
            j = max(prev - i, 0)
            if not labels[j] and original[j].lower() == c.lower():
                labels[j] = True
                prev = j
                break
    return [int(x) for x in labels]


@pytest.mark.parametrize("window", [2, 4, 150])
def test_alignment_equals_the_reference_loop(window):
    original = ["the", "cat", "sat", "on", "the", "mat", "and", "the", "dog", "sat", "on", "the", "cat"]
    for compressed in (["cat", "sat", "mat", "dog", "cat"], ["The", "the", "the", "bird"], ["cat"] * 5):
        assert align(original, compressed, window) == oracle_align(original, compressed, window)
    assert align(original, ["dog", "cat"], 150) == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]


def test_filter_drops_the_worst_tails_but_never_zero_values():
    frame = pl.DataFrame(
        {
            "variation_rate": [0.0] * 9 + [0.5],
            "alignment_gap": [0.0] * 8 + [0.3, 0.9],
            "rejected": [None] * 10,
        },
        schema_overrides={"rejected": pl.String},
    )
    out = filter_tails(frame, 0.9)["rejected"].to_list()
    assert out == [None] * 8 + ["alignment_gap", "variation_rate"]
    zeros = filter_tails(frame.with_columns(pl.lit(0.0).alias("variation_rate")), 0.9)
    assert zeros["rejected"].null_count() == 9


def test_qa_score_is_the_papers_substring_match_on_the_first_line():
    assert normalize("The  Zaran-Air!") == "zaranair"
    assert qa_score("It makes the Zaran Air.\nOther", "Zaran Air") == 1.0
    assert qa_score("Something else\nZaran Air", "Zaran Air") == 0.0
    assert retained("Gisurk 190 million dollars", "190 million dollars") == 1.0


def result_rows(correct: dict[str, list[int]], rate: float = 0.5) -> list[dict]:
    cell = {
        "rate": rate,
        "dataset": "world",
        "retained": 1.0,
        "original_tokens": 100,
        "compressed_tokens": 50,
    }
    return [
        {
            **cell,
            "method": method,
            "doc_id": f"d{i // 2}",
            "question": f"q{i}",
            "correct": float(c),
            "seconds": 0.1,
        }
        for method, values in correct.items()
        for i, c in enumerate(values)
    ]


def test_summary_and_headline_from_result_rows():
    ours = [1] * 15 + [0] * 5
    theirs = [0] * 10 + [1] * 5 + [0] * 5
    results = pl.DataFrame(result_rows({"llmlingua2": ours, "random_drop": theirs}))
    real = pl.DataFrame(
        {"method": ["llmlingua2"] * 2, "rate": [0.5] * 2, "dataset": ["real"] * 2, "doc_id": ["r0"] * 2,
         "kind": ["ORG", "MONEY"], "entity": ["Texaco", "5 dlrs"], "retained": [1.0, 0.0],
         "original_tokens": [80] * 2, "compressed_tokens": [40] * 2, "seconds": [0.1] * 2}
    )  # fmt: skip
    cells = summarize(results, real)
    assert [c["achieved_ratio"] for c in cells] == [2.0, 2.0, 2.0]
    top = headline(cells, results)
    assert top["accuracy_at_2x"] == {"llmlingua2": 0.75, "random_drop": 0.25}
    assert top["entity_retention_at_2x_real"] == {"llmlingua2": 0.5}
    assert top["questions_per_cell"] == 20.0
    # Paired: the 10 questions only llmlingua2 answers give +1, the rest 0; the interval is the
    # bootstrap of those per-question differences.
    assert top["llmlingua2_minus_random_drop_at_2x"] == pytest.approx(0.5)
    low, high = top["llmlingua2_minus_random_drop_at_2x_ci95"]
    assert (low, high) == bootstrap_ci([1.0] * 10 + [0.0] * 10) and 0.0 < low < 0.5 < high
    assert top["headline_met"] is True
    assert top["llmlingua2_minus_random_drop_by_rate"] == {
        "0.5": {"difference": pytest.approx(0.5), "ci95": [low, high]}
    }
    table = summary_table(cells, "world-l-extractive", oracle=False, truth_rate=0.5)
    assert (
        "| world | llmlingua2 | 0.50 | 2.00x | 0.750" in table
        and "| real | llmlingua2 | 0.50 | 2.00x | 0.500" in table
    )
    assert "oracle" not in table.splitlines()[0]
    assert "oracle labels" in summary_table(cells, "oracle", oracle=True, truth_rate=0.5).splitlines()[0]


def test_paired_differences_match_questions_not_row_order():
    rows = result_rows({"llmlingua2": [1, 0, 1], "random_drop": [0, 0, 1]})
    shuffled = pl.DataFrame(rows[3:][::-1] + rows[:3])
    assert sorted(paired(shuffled, "llmlingua2", "random_drop", 0.5)) == [0.0, 0.0, 1.0]
    assert paired(shuffled, "llmlingua2", "truncate", 0.5) == []


def test_label_table_counts_non_extractive_and_empty_teacher_outputs():
    from tasks.compression.annotate import label_table

    text = "Nanur Zugosa started Gisurk Dynamics in 1963, and the company grew."
    distilled = pl.DataFrame(
        {
            "teacher": ["t"] * 3,
            "source": ["world"] * 3,
            "chunk_id": ["a", "b", "c"],
            "text": [text] * 3,
            "compressed": ["Zugosa started Gisurk Dynamics 1963", "A firm was set up long ago", ""],
        }
    )
    table = label_table(distilled, window=400, quantile=1.0, max_variation=0.2)
    assert table["rejected"].to_list() == [None, "not extractive", "empty output"]
    words, labels = table.row(0, named=True)["words"], table.row(0, named=True)["labels"]
    assert [w for w, y in zip(words, labels, strict=True) if y] == [
        "Zugosa",
        "started",
        "Gisurk",
        "Dynamics",
        "1963",
    ]
    assert table["variation_rate"][0] == 0.0 and table["variation_rate"][1] > 0.5


def test_parity_without_real_texts_reports_none_not_zero():
    from tasks.compression.methods import parity

    figures = parity("no-classifier-needed", {"world": [], "reuters": []}, 0.5)
    assert figures["kept_words_equal_to_llmlingua"] is None
    assert figures["parity_documents_by_source"] == {"world": 0, "reuters": 0}
