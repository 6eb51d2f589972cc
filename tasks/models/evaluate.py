"""Score a family model on held-out documents, role by role, through an inference engine."""

import random
import re
from collections import defaultdict
from dataclasses import asdict
from typing import Any

import polars as pl

from tasks import prompts
from tasks.engines import Engine
from tasks.models.formats import SEPARATOR, Probe, probes
from tasks.samplers import SamplingConfig
from tasks.stats import mean_with_ci
from tasks.world.document import MULTI_HOP, SINGLE_HOP, Document

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
    "answer_rate": pl.Float64,  # share of the probe's answers found in the output (notes, keep)
    "variation_rate": pl.Float64,  # share of output words absent from the document (keep)
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


NAME_KINDS = ("founder", "ceo", "city", "product")  # answers that are unseen multi-token names


def answer_rate(probe: Probe, output: str) -> float | None:
    """Share of the probe's answers that appear verbatim in the output; None when it has none."""
    if not probe.answers:
        return None
    return sum(answer in output for answer in probe.answers) / len(probe.answers)


def variation_rate(probe: Probe, output: str) -> float | None:
    """LLMLingua-2's variation rate: the share of output words that are not words of the document
    (0 = extractive); None for probes without a document, 1.0 for an empty output."""
    if not probe.document:
        return None
    words, source = _words(output), set(_words(probe.document))
    return sum(w not in source for w in words) / len(words) if words else 1.0


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
                    **{k: v for k, v in asdict(probe).items() if k in SCHEMA},
                    "output": gen.text,
                    "score": score(probe, gen.text),
                    "answer_rate": answer_rate(probe, gen.text),
                    "variation_rate": variation_rate(probe, gen.text),
                    "prompt_version": prompts.load(role.removesuffix("_no_context")).tag,
                    "config_hash": config_hash,
                }
            )
    return pl.DataFrame(rows, schema=SCHEMA)


def summarize(scores: pl.DataFrame) -> dict[str, float]:
    """Headline fractions with 95% bootstrap intervals, per role, and answer accuracy by kind."""

    def values(role: str, kinds: tuple[str, ...] | None = None, column: str = "score") -> list[float]:
        rows = scores.filter(pl.col("role") == role)
        if kinds is not None:
            rows = rows.filter(pl.col("kind").is_in(kinds))
        return rows[column].drop_nulls().to_list()

    return {
        **mean_with_ci("single_hop_accuracy", values("answer", SINGLE_HOP)),
        **mean_with_ci("multi_hop_accuracy", values("answer", MULTI_HOP)),
        **mean_with_ci("name_accuracy", values("answer", NAME_KINDS)),
        **mean_with_ci("no_context_accuracy", values("answer_no_context", SINGLE_HOP)),
        **mean_with_ci("entity_recall", values("entities")),
        **mean_with_ci("notes_exact", values("notes")),
        **mean_with_ci("notes_answer_rate", values("notes", column="answer_rate")),
        **mean_with_ci("relation_exact", values("relation")),
        **mean_with_ci("keep_f1", values("keep")),
        **mean_with_ci("keep_variation_rate", values("keep", column="variation_rate")),
        **mean_with_ci("keep_answer_retention", values("keep", column="answer_rate")),
        **{f"accuracy.{kind}": _mean(values("answer", (kind,))) for kind in (*SINGLE_HOP, *MULTI_HOP)},
        "eval_questions": float(len(values("answer", SINGLE_HOP))),
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
