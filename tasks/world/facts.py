"""Who founded what, where and when: the relations of one split, one company profile at a time."""

import random
from dataclasses import dataclass

from tasks.errors import InfopipeError
from tasks.world.config import WorldSplit
from tasks.world.names import draw_names


@dataclass(frozen=True)
class Company:
    """The facts one document states (and questions ask about)."""

    name: str
    founder: str
    ceo: str
    founded: str  # year
    city: str  # headquarters
    founder_city: str  # where the founder was born
    product: str
    revenue: str  # amount
    acquired: str | None  # another company of the split, or None


def draw_companies(rng: random.Random, split: str, sizes: WorldSplit, taken: set[str]) -> list[Company]:
    where = f"world.{split}"
    if sizes.people < 2 * sizes.organisations:
        raise InfopipeError(
            f"{where}.people",
            f"{sizes.people} < 2 per organisation (each of {sizes.organisations} needs a founder and a CEO)",
        )
    if sizes.products < sizes.organisations:
        raise InfopipeError(
            f"{where}.products", f"{sizes.products} < one per organisation ({sizes.organisations})"
        )
    orgs = draw_names(rng, "organisations", sizes.organisations, taken, f"{where}.organisations")
    people = draw_names(rng, "people", sizes.people, taken, f"{where}.people")
    cities = draw_names(rng, "cities", sizes.cities, taken, f"{where}.cities")
    products = draw_names(rng, "products", sizes.products, taken, f"{where}.products")
    rng.shuffle(people)
    companies = []
    for i, org in enumerate(orgs):
        others = orgs[:i] + orgs[i + 1 :]
        companies.append(
            Company(
                name=org,
                founder=people[2 * i],
                ceo=people[2 * i + 1],
                founded=str(rng.randint(1900, 2020)),
                city=rng.choice(cities),
                founder_city=rng.choice(cities),
                product=products[i],
                revenue=f"{rng.randint(2, 950)} million dollars",
                acquired=rng.choice(others) if others and rng.random() < 0.5 else None,
            )
        )
    return companies
