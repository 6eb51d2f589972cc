"""Question forms of the closed-book QA: what a held-out document's facts are asked as.

forward      the world's own questions ("Who founded Gisurk Dynamics?"), worded close to the
             documents' templates: raw repetition of the document can answer them.
reversed     the answer entity asks for the company ("Which company did Nanur Zugosa found?"):
             the documents name the company first in most templates, so a model that only
             learned the document's order meets the reversal curse (Berglund et al. 2023).
paraphrased  forward questions worded as no document template is (tests/unit/test_entigraph.py
             checks that no word 3-gram of these templates occurs in tasks/world/render.py's).
"""

from dataclasses import dataclass
from typing import Literal, get_args

from tasks.world.document import Document

Form = Literal["forward", "reversed", "paraphrased"]
FORMS: tuple[Form, ...] = get_args(Form)

# Kind -> question asking for the company from the kind's answer (only kinds whose answer
# names one entity of the company; years and amounts do not).
REVERSED = {
    "founder": "Which company did {answer} found?",
    "ceo": "Which company has {answer} as its chief executive?",
    "product": "Which company makes the {answer}?",
    "city": "Which company has its headquarters in {answer}?",
}
PARAPHRASED = {
    "founder": "Which person established {name}?",
    "founded": "{name} came into being in what year?",
    "city": "In what town does {name} keep its main office?",
    "product": "Which item is {name} known for producing?",
    "ceo": "Which person currently heads {name}?",
    "revenue": "How much money did {name} take in during the previous year?",
}


@dataclass(frozen=True)
class Asked:
    """One question of one form: its text, gold answer, and the kind whose answers are its
    distractors' pool (`company` for reversed questions)."""

    kind: str
    form: str
    text: str
    answer: str
    pool: str


def company(doc: Document) -> str:
    """The document's company: its first organisation (the lead sentence names it)."""
    return next(name for name, kind, _, _ in doc.entities if kind == "organisation")


def asked(doc: Document, kinds: list[str], forms: list[Form]) -> list[Asked]:
    """The document's questions of `kinds` in every form of `forms`, in form then kind order."""
    name = company(doc)
    answers = {q.kind: q for q in doc.questions if q.kind in kinds}
    out: list[Asked] = []
    for form in forms:
        for kind, q in answers.items():
            if form == "forward":
                out.append(Asked(kind, form, q.text, q.answer, kind))
            elif form == "reversed" and kind in REVERSED:
                out.append(Asked(kind, form, REVERSED[kind].format(answer=q.answer), name, "company"))
            elif form == "paraphrased" and kind in PARAPHRASED:
                out.append(Asked(kind, form, PARAPHRASED[kind].format(name=name), q.answer, kind))
    return out
