"""Scoring a predicted answer against the gold one: SQuAD-style normalisation, containment in
the first line (the LLMLingua-2 paper's `qa_score`, the jobs' `accuracy`), exact match and F1."""

import re
import string
from collections import Counter

PUNCTUATION = set(string.punctuation)


def normalize(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def first_line(prediction: str) -> str:
    return prediction.strip().split("\n")[0]


def contains(prediction: str, answer: str) -> float:
    """1.0 when the normalised gold answer is a substring of the prediction's first line."""
    return float(normalize(answer) in normalize(first_line(prediction)))


def exact_match(prediction: str, answer: str) -> float:
    return float(normalize(first_line(prediction)) == normalize(answer))


def f1(prediction: str, answer: str) -> float:
    """Token-overlap F1 of the first line against the answer (SQuAD's evaluation script)."""
    predicted, gold = normalize(first_line(prediction)).split(), normalize(answer).split()
    common = sum((Counter(predicted) & Counter(gold)).values())
    if not predicted or not gold:
        return float(predicted == gold)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)
