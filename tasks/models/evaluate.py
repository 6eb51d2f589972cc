"""Score a family model on held-out documents, role by role, through an inference engine."""

import random
import re
from collections import defaultdict
from dataclasses import asdict
from typing import Any

import polars as pl

from tasks import prompts
from tasks.engines import Engine
from tasks.models.formats import MULTI_HOP, SEPARATOR, SINGLE_HOP, Probe, probes
from tasks.samplers import SamplingConfig
from tasks.stats import mean_with_ci
from tasks.world.document import Document

MAX_TOKENS = {"answer": 16, "answer_no_context": 16}  # other roles write a sentence or a list: 160
SCHEMA = {
    "model": pl.String,
    "role": pl.String,
    "kind": pl.String,
    "doc_id": pl.String,
    "prompt": pl.String,
    "gold": pl.String,
    "output": pl.String,
    "score": pl.Float64,
    "prompt_version": pl.String,
    "config_hash": pl.String,
}


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def word_f1(output: str, gold: str) -> float:
    out, ref = _words(output), _words(gold)
    common = sum(min(out.count(w), ref.count(w)) for w in set(ref))
    if not out or not ref or not common:
        return float(out == ref)
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def score(probe: Probe, output: str) -> float:
    """Exact match for answers, notes and relations; recall for entity lists; word F1 for keep."""
    output = output.strip()
    if probe.role == "entities":
        gold = probe.gold.split(SEPARATOR)
        found = {name.strip() for name in output.split(SEPARATOR.strip())}
        return sum(name in found for name in gold) / len(gold)
    if probe.role == "keep":
        return word_f1(output, probe.gold)
    return float(output == probe.gold.strip())


def evaluate(engine: Engine, model: str, docs: list[Document], seed: int, config_hash: str) -> pl.DataFrame:
    rng = random.Random(seed)
    items = [p for doc in docs for p in probes(doc, rng)]
    by_role: dict[str, list[Probe]] = defaultdict(list)
    for probe in items:
        by_role[probe.role].append(probe)
    rows: list[dict[str, Any]] = []
    for role, group in by_role.items():
        sampling = SamplingConfig(
            max_tokens=MAX_TOKENS.get(role, 160), stop=["\n"], logprobs=0, entropy=False
        )
        for probe, gen in zip(group, engine.generate([p.prompt for p in group], sampling), strict=True):
            rows.append(
                {
                    "model": model,
                    **asdict(probe),
                    "output": gen.text,
                    "score": score(probe, gen.text),
                    "prompt_version": prompts.load(role.removesuffix("_no_context")).tag,
                    "config_hash": config_hash,
                }
            )
    return pl.DataFrame(rows, schema=SCHEMA)


def summarize(scores: pl.DataFrame) -> dict[str, float]:
    """Headline fractions with 95% bootstrap intervals, per role."""

    def values(role: str, kinds: tuple[str, ...] | None = None) -> list[float]:
        rows = scores.filter(pl.col("role") == role)
        if kinds is not None:
            rows = rows.filter(pl.col("kind").is_in(kinds))
        return rows["score"].to_list()

    return {
        **mean_with_ci("single_hop_accuracy", values("answer", SINGLE_HOP)),
        **mean_with_ci("multi_hop_accuracy", values("answer", MULTI_HOP)),
        **mean_with_ci("no_context_accuracy", values("answer_no_context", SINGLE_HOP)),
        **mean_with_ci("entity_recall", values("entities")),
        **mean_with_ci("notes_exact", values("notes")),
        **mean_with_ci("relation_exact", values("relation")),
        **mean_with_ci("keep_f1", values("keep")),
    }
