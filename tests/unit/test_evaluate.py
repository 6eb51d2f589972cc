import pytest

from tasks.models.evaluate import answer_rate, score, variation_rate, word_f1
from tasks.models.formats import Probe


def probe(role: str, gold: str) -> Probe:
    return Probe(role, role, "d", "prompt", gold)


def test_word_f1_matches_the_squad_formula():
    # 2 of 3 predicted words are right, 2 of 4 gold words found: P=2/3, R=1/2, F1=4/7.
    assert word_f1("Kalo makes Pro", "Kalo Labs makes things") == pytest.approx(4 / 7)
    assert word_f1("", "") == 1.0 and word_f1("a", "") == 0.0 and word_f1("x", "y") == 0.0


def test_scores_per_role():
    assert score(probe("answer", "Bara Tinth"), " Bara Tinth ") == 1.0
    assert score(probe("answer", "Bara Tinth"), "Bara") == 0.0
    assert score(probe("entities", "A B; C; D E"), "A B; D E; Z") == pytest.approx(2 / 3)
    assert score(probe("relation", "A founded B."), "A founded B.") == 1.0
    assert score(probe("keep", "A founded B 1990."), "A founded B 1990.") == 1.0


def test_answer_rate_counts_the_answers_found_verbatim():
    notes = Probe("notes", "founder", "d", "prompt", "gold", answers=("Bara Tinth",))
    assert answer_rate(notes, "Kalo was founded by Bara Tinth in 1990.") == 1.0
    assert answer_rate(notes, "Kalo was founded by Bara in 1990.") == 0.0
    keep = Probe("keep", "keep", "d", "prompt", "gold", answers=("1990", "Oslo", "Bara Tinth"))
    assert answer_rate(keep, "Kalo founded Bara Tinth 1990") == pytest.approx(2 / 3)
    assert answer_rate(probe("answer", "x"), "x") is None  # nothing to contain


def test_variation_rate_is_the_share_of_words_not_in_the_document():
    keep = Probe("keep", "keep", "d", "prompt", "gold", document="Kalo Labs was founded by Bara Tinth.")
    assert variation_rate(keep, "Kalo founded Bara Tinth") == 0.0  # extractive
    assert variation_rate(keep, "Kalo started by Bara Tinth") == pytest.approx(1 / 5)
    assert variation_rate(keep, "") == 1.0  # nothing kept is not an extractive compression
    assert variation_rate(probe("answer", "x"), "x") is None
