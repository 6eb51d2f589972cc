"""Company profiles rendered from paraphrase templates, with character spans of every entity and fact.

TEMPLATE_VERSION travels into every table row: change a template, bump it.
"""

import random
import re
from dataclasses import dataclass, field

from tasks.world.facts import Company

TEMPLATE_VERSION = "world-v1"

# relation -> paraphrases; {slots} are entity mentions whose spans are recorded.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "founded_by": (
        "{org} was founded by {person} in {year}.",
        "In {year}, {person} founded {org}.",
        "{person} started {org} in {year}.",
        "The company {org} traces its origins to {year}, when {person} set it up.",
    ),
    "headquartered_in": (
        "{org} is headquartered in {city}.",
        "The headquarters of {org} are in {city}.",
        "{org} runs its business from {city}.",
    ),
    "makes": (
        "{org} makes the {product}.",
        "The best-known product of {org} is the {product}.",
        "{org} manufactures the {product}.",
    ),
    "ceo_of": (
        "{person} is the chief executive of {org}.",
        "{org} is led by its CEO, {person}.",
        "Today {person} runs {org} as chief executive.",
    ),
    "revenue": (
        "Last year {org} reported revenue of {amount}.",
        "{org} earned {amount} in revenue last year.",
    ),
    "born_in": (
        "{person} was born in {city}.",
        "{person} grew up in {city}, where they were born.",
    ),
    "acquired": (
        "{org} acquired {target} in {year}.",
        "In {year}, {org} bought {target}.",
    ),
}
DISTRACTORS = (
    "Analysts expect the sector to remain competitive.",
    "Industry observers describe the market as crowded.",
    "The firm declined to comment on future plans.",
    "Several competitors operate in the same region.",
    "Demand in the sector has been uneven in recent years.",
    "The company did not respond to requests for comment.",
    "Some customers have praised its service in online reviews.",
    "Trade publications covered the company on several occasions.",
)
HEADERS = ("Company profile.", "Business register entry.", "Corporate summary.")
FOOTERS = ("This profile is provided for information only.", "All figures are unaudited.")
SLOT_TYPES = {
    **{"org": "organisation", "target": "organisation", "person": "person", "city": "city"},
    **{"product": "product", "year": "year", "amount": "amount"},
}


@dataclass
class Rendered:
    text: str = ""
    entities: list[tuple[str, str, int, int]] = field(default_factory=list)  # name, type, start, end
    facts: dict[str, tuple[int, int]] = field(default_factory=dict)  # fact key -> sentence span
    distractor_chars: int = 0

    def add(self, template: str, values: dict[str, str], fact: str | None = None) -> None:
        if self.text:
            self.text += " "
        start = len(self.text)
        for literal, slot in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
            self.text += literal
            if slot:
                begin = len(self.text)
                self.text += values[slot]
                self.entities.append((values[slot], SLOT_TYPES[slot], begin, len(self.text)))
        if fact:
            self.facts[fact] = (start, len(self.text))
        else:
            self.distractor_chars += len(self.text) - start


def render(company: Company, rng: random.Random, distractors: int, boilerplate: bool) -> Rendered:
    c = company
    facts: list[tuple[str, dict[str, str]]] = [
        ("founded_by", {"org": c.name, "person": c.founder, "year": c.founded}),
        ("headquartered_in", {"org": c.name, "city": c.city}),
        ("makes", {"org": c.name, "product": c.product}),
        ("ceo_of", {"org": c.name, "person": c.ceo}),
        ("revenue", {"org": c.name, "amount": c.revenue}),
        ("born_in", {"person": c.founder, "city": c.founder_city}),
    ]
    if c.acquired:
        year = str(min(2024, int(c.founded) + rng.randint(1, 30)))
        facts.append(("acquired", {"org": c.name, "target": c.acquired, "year": year}))
    body: list[tuple[str, dict[str, str], str | None]] = [
        (rng.choice(TEMPLATES[rel]), values, rel) for rel, values in facts[1:]
    ]
    body += [(text, {}, None) for text in rng.sample(DISTRACTORS, k=min(distractors, len(DISTRACTORS)))]
    rng.shuffle(body)
    doc = Rendered()
    if boilerplate:
        doc.add(rng.choice(HEADERS), {})
    doc.add(rng.choice(TEMPLATES["founded_by"]), facts[0][1], "founded_by")  # the lead sentence
    for template, values, fact in body:
        doc.add(template, values, fact)
    if boilerplate:
        doc.add(rng.choice(FOOTERS), {})
    return doc
