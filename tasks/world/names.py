"""Fictional names built from syllables: many, pronounceable, and absent from any pretraining data."""

import random

from tasks.errors import InfopipeError

SYLLABLES = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")
ENDINGS = ("n", "r", "s", "th", "x", "l", "nd", "rk", "")
ORG_SUFFIXES = ("Systems", "Holdings", "Labs", "Group", "Works", "Industries", "Dynamics", "Partners")
CITY_SUFFIXES = ("", "", "port", "ford", "ville", "burg", "haven")
PRODUCT_SUFFIXES = ("One", "Pro", "Max", "Air", "Core", "Lite", "Prime")


def _word(rng: random.Random, syllables: int) -> str:
    return ("".join(rng.choice(SYLLABLES) for _ in range(syllables)) + rng.choice(ENDINGS)).capitalize()


def _person(rng: random.Random) -> str:
    return f"{_word(rng, 2)} {_word(rng, rng.choice((2, 3)))}"


def _organisation(rng: random.Random) -> str:
    return f"{_word(rng, rng.choice((2, 3)))} {rng.choice(ORG_SUFFIXES)}"


def _city(rng: random.Random) -> str:
    return _word(rng, 2) + rng.choice(CITY_SUFFIXES)


def _product(rng: random.Random) -> str:
    return f"{_word(rng, 2)} {rng.choice(PRODUCT_SUFFIXES)}"


MAKERS = {"people": _person, "organisations": _organisation, "cities": _city, "products": _product}
# Far below each kind's combinatorial space, so that drawing stays fast and collisions rare.
CAPACITY = {"people": 200_000, "organisations": 100_000, "cities": 20_000, "products": 50_000}


def draw_names(rng: random.Random, kind: str, count: int, taken: set[str], where: str) -> list[str]:
    """`count` new distinct names of one kind, none of them in `taken` (which grows)."""
    if count > CAPACITY[kind]:
        raise InfopipeError(where, f"{count} {kind} exceed the {CAPACITY[kind]} distinct names available")
    out: list[str] = []
    attempts = 0
    while len(out) < count:
        name = MAKERS[kind](rng)
        attempts += 1
        if attempts > 50 * count + 1000:
            raise InfopipeError(where, f"could not draw {count} distinct {kind}; lower the count")
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out
