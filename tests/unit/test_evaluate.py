import pytest

from tasks.models.evaluate import score, word_f1
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
