"""Arithmetic: one-step word problems with an integer answer, drawn from a seed (a reasoning-style
benchmark in the spirit of GSM8K, small enough for a 135M model to get some right); correct when
the first number of the response's first line is the answer."""

import random
import re
from typing import Any

from tasks.answers import first_line
from tasks.decoding.benchmarks.base import BENCHMARKS, Benchmark

NAMES = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Henry"]
THINGS = ["apples", "books", "coins", "stamps", "pencils", "marbles", "cards", "shells"]


def documents(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        name, thing = rng.choice(NAMES), rng.choice(THINGS)
        a, b = rng.randint(2, 12), rng.randint(1, 9)
        if rng.random() < 0.5:
            question = f"{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?"
            answer = a + b
        else:
            a += b
            question = f"{name} has {a} {thing} and gives {b} away. How many {thing} does {name} have now?"
            answer = a - b
        prompt = f"Answer with a number only.\nQuestion: {question}\nAnswer:"
        docs.append({"id": f"arithmetic-{i}", "question": question, "answer": str(answer), "prompt": prompt})
    return docs


def first_number(response: str, answer: str) -> float:
    found = re.search(r"-?\d+", first_line(response))
    return float(found is not None and int(found.group()) == int(answer))


BENCHMARKS.register("arithmetic")(Benchmark(documents, first_number))
