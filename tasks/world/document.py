"""One world document with its ground truth, as the model family and the jobs read it.

Built either from a freshly drawn company (training samples with unseen names) or from the
`world` stage's tables (held-out evaluation); both give the same view.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from tasks.world.facts import Company
from tasks.world.render import Rendered

SALIENT = ("organisation", "person", "city", "product")  # what entity listing must find
# Function words the keep-the-essential-words target drops (the compression teacher role).
_FUNCTION_WORDS = "a an the of in on at to by for from as is are was were be its it their they his her \
and or that which where when who has have had this these"
STOPWORDS = frozenset(_FUNCTION_WORDS.split())

# kind -> (question template, answer field of Company, supporting facts). Multi-hop ones chain two.
QUESTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "founder": ("Who founded {name}?", "founder", ("founded_by",)),
    "founded": ("In which year was {name} founded?", "founded", ("founded_by",)),
    "city": ("Where is {name} headquartered?", "city", ("headquartered_in",)),
    "product": ("What product does {name} make?", "product", ("makes",)),
    "ceo": ("Who is the chief executive of {name}?", "ceo", ("ceo_of",)),
    "revenue": ("What revenue did {name} report last year?", "revenue", ("revenue",)),
    "founder_birthplace": (
        "Where was the founder of {name} born?",
        "founder_city",
        ("founded_by", "born_in"),
    ),
    "maker_city": (
        "In which city is the maker of the {product} headquartered?",
        "city",
        ("makes", "headquartered_in"),
    ),
}
SINGLE_HOP = tuple(kind for kind, (_, _, supports) in QUESTIONS.items() if len(supports) == 1)
MULTI_HOP = tuple(kind for kind in QUESTIONS if kind not in SINGLE_HOP)


@dataclass(frozen=True)
class Question:
    kind: str
    text: str
    answer: str
    spans: tuple[tuple[int, int], ...]  # the fact sentences that support the answer

    @property
    def hops(self) -> int:
        return len(self.spans)


@dataclass(frozen=True)
class Document:
    doc_id: str
    text: str
    entities: tuple[tuple[str, str, int, int], ...]  # name, type, start, end (in order)
    facts: tuple[tuple[str, int, int], ...]  # relation, sentence start, end (in order)
    questions: tuple[Question, ...]

    def sentence(self, start: int, end: int) -> str:
        return self.text[start:end]

    def notes(self, question: Question) -> str:
        """The supporting sentences of a question, in document order."""
        return " ".join(self.sentence(s, e) for s, e in sorted(question.spans))

    def salient(self) -> list[str]:
        """Names of people, organisations, cities and products, deduplicated, in order."""
        names = [name for name, kind, _, _ in self.entities if kind in SALIENT]
        return list(dict.fromkeys(names))

    def relations(self) -> Iterator[tuple[str, str, str]]:
        """(first, second, sentence) for every fact sentence naming two salient entities."""
        for _, start, end in self.facts:
            inside = [n for n, kind, s, e in self.entities if kind in SALIENT and start <= s and e <= end]
            pair = list(dict.fromkeys(inside))[:2]
            if len(pair) == 2:
                yield pair[0], pair[1], self.sentence(start, end)

    def kept(self) -> str:
        """The fact sentences without function words: what a compressor should keep."""
        words = " ".join(self.sentence(s, e) for _, s, e in self.facts).split()
        return " ".join(w for w in words if re.sub(r"\W", "", w).lower() not in STOPWORDS)


def from_company(doc_id: str, company: Company, doc: Rendered) -> Document:
    questions = []
    for kind, (template, answer, supports) in QUESTIONS.items():
        questions.append(
            Question(
                kind=kind,
                text=template.format(name=company.name, product=company.product),
                answer=getattr(company, answer),
                spans=tuple(doc.facts[s] for s in supports),
            )
        )
    return Document(
        doc_id=doc_id,
        text=doc.text,
        entities=tuple(doc.entities),
        facts=tuple((rel, s, e) for rel, (s, e) in doc.facts.items()),
        questions=tuple(questions),
    )


def from_tables(tables: dict[str, pl.DataFrame], split: str) -> list[Document]:
    """The documents of one split of the `world` stage's tables, with their ground truth."""
    docs = tables["documents"].filter(pl.col("split") == split)
    ids = docs["doc_id"].to_list()
    by_doc: dict[str, dict[str, list[dict[str, Any]]]] = {i: {"e": [], "f": [], "q": []} for i in ids}
    for key, name in (("e", "entities"), ("f", "facts"), ("q", "questions")):
        for row in tables[name].filter(pl.col("doc_id").is_in(ids)).iter_rows(named=True):
            by_doc[row["doc_id"]][key].append(row)
    out = []
    for row in docs.iter_rows(named=True):
        parts = by_doc[row["doc_id"]]
        out.append(
            Document(
                doc_id=row["doc_id"],
                text=row["text"],
                entities=tuple((r["name"], r["type"], r["start"], r["end"]) for r in parts["e"]),
                facts=tuple((r["relation"], r["start"], r["end"]) for r in parts["f"]),
                questions=tuple(
                    Question(
                        r["kind"],
                        r["question"],
                        r["answer"],
                        tuple(zip(r["support_starts"], r["support_ends"], strict=True)),
                    )
                    for r in parts["q"]
                ),
            )
        )
    return out
