"""How faithful synthetic text is to the world: do the entities a sentence relates belong
together in a true fact?

A mention is a world name (person, organisation, city, product of either split), a year or an
amount ("190 million dollars"). Two mentions are a true pair when one fact sentence of some
world document names both (its relation, e.g. founded_by: company, founder, year). A synthetic
sentence with two or more mentions is *faithful* when every mention has a true partner among
the others; a mention without one is an *invented fact* (a wrong year, a founder who founded
another company, a city the company is not in). Sentences naming one mention relate nothing and
are not scored; mentions the world cannot recognise (invented names, "$190M") are not seen.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

from tasks.world.build import read_world
from tasks.world.document import Document, from_tables

SENTENCE = re.compile(r"(?<=[.!?])\s+")
NUMBERS = r"\b\d+(?:\.\d+)? (?:million|billion) dollars\b|\b(?:1[5-9]|20)\d\d\b"


@dataclass(frozen=True)
class Facts:
    """The world's mentionable names and its true pairs."""

    names: frozenset[str]
    pairs: frozenset[frozenset[str]]

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        names = sorted(self.names, key=len, reverse=True)  # the longest name wins
        return re.compile("|".join([NUMBERS, *(rf"\b{re.escape(n)}\b" for n in names)]))

    def mentions(self, sentence: str) -> list[str]:
        """Distinct mentions, in order of appearance."""
        return list(dict.fromkeys(m.group(0) for m in self.pattern.finditer(sentence)))


def world_facts(documents: Iterable[Document]) -> Facts:
    names: set[str] = set()
    pairs: set[frozenset[str]] = set()
    for doc in documents:
        names.update(name for name, kind, _, _ in doc.entities if kind not in ("year", "amount"))
        for _, start, end in doc.facts:
            inside = {name for name, _, s, e in doc.entities if start <= s and e <= end}
            pairs.update(frozenset(p) for p in combinations(sorted(inside), 2))
    return Facts(frozenset(names), frozenset(pairs))


def of_world() -> Facts:
    """The facts of the built world (data/world), both splits."""
    tables = read_world()
    return world_facts([*from_tables(tables, "train"), *from_tables(tables, "heldout")])


def invented(mentions: Sequence[str], facts: Facts) -> list[str]:
    """The mentions without a true partner among the others (none under two mentions)."""
    if len(mentions) < 2:
        return []
    return [m for m in mentions if not any(frozenset((m, o)) in facts.pairs for o in mentions if o != m)]


def faithfulness(texts: Iterable[str], facts: Facts, tokens: int) -> dict[str, float | None]:
    """Share of relating sentences that are faithful, and invented facts per 1k `tokens`
    (None where there is nothing to divide by)."""
    relating = faithful = wrong = 0
    for text in texts:
        for sentence in SENTENCE.split(text):
            mentions = facts.mentions(sentence)
            if len(mentions) < 2:
                continue
            bad = invented(mentions, facts)
            relating += 1
            faithful += not bad
            wrong += len(bad)
    return {
        "relating_sentences": float(relating),
        "faithful_share": faithful / relating if relating else None,
        "invented_facts": float(wrong),
        "invented_facts_per_1k_tokens": 1000.0 * wrong / tokens if tokens else None,
    }
