"""Words of a text with their character spans, and the text rebuilt from a subset of them.

Compressors decide per word and rebuild from the original characters, so the output keeps the
original words, casing and spacing (llmlingua rebuilds from tokenizer tokens, lower-casing text
when the encoder is uncased). A word is a run of word characters or one other non-space
character (underscore included), which is how BERT's pre-tokenizer splits text.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+|[^\w\s]|_")


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: int
    end: int
    spaced: bool  # whitespace before it in the original


def split(text: str) -> list[Word]:
    return [
        Word(m.group(), m.start(), m.end(), m.start() > 0 and text[m.start() - 1].isspace())
        for m in WORD.finditer(text)
    ]


def join(words: Sequence[Word], keep: Sequence[bool]) -> str:
    """The kept words, each preceded by a space where the original had whitespace before it."""
    out: list[str] = []
    for word, kept in zip(words, keep, strict=True):
        if kept:
            out.append((" " if out and word.spaced else "") + word.text)
    return "".join(out)


def newline_after(text: str, word: Word) -> bool:
    rest = text[word.end :]
    gap = rest[: len(rest) - len(rest.lstrip())]
    return "\n" in gap
