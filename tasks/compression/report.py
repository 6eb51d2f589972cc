"""The job's figures: headline numbers at 2x and a markdown table of every cell."""

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from tasks.compression.annotate import label_stats
from tasks.compression.truth import label_quality
from tasks.stats import bootstrap_ci

TWO_X = 0.5  # the rate whose cells report "at 2x" (achieved ratios are reported beside it)


def headline(cells: Sequence[dict[str, Any]], results: pl.DataFrame) -> dict[str, Any]:
    """The figures at 2x: per method on world QA and on real articles, and llmlingua2 against
    random drop on the same questions with a paired bootstrap interval."""
    world = [c for c in cells if c["dataset"] == "world" and abs(c["rate"] - TWO_X) < 1e-9]
    real = [c for c in cells if c["dataset"] == "real" and abs(c["rate"] - TWO_X) < 1e-9]
    out: dict[str, Any] = {
        "span_retention_at_2x": {c["method"]: c["span_retention"] for c in world},
        "accuracy_at_2x": {c["method"]: c["accuracy"] for c in world},
        "achieved_ratio_at_2x": {c["method"]: c["achieved_ratio"] for c in world},
        "entity_retention_at_2x_real": {c["method"]: c["entity_retention"] for c in real},
        "achieved_ratio_at_2x_real": {c["method"]: c["achieved_ratio"] for c in real},
        "questions_per_cell": min((c["questions"] for c in cells if "questions" in c), default=0.0),
    }
    full = results.filter(pl.col("rate") == 1.0)
    if not full.is_empty():
        first = full["method"][0]
        correct = full.filter(pl.col("method") == first)["correct"].to_list()
        out["uncompressed_accuracy"] = sum(correct) / len(correct)
    diffs = paired(results, "llmlingua2", "random_drop", TWO_X)
    if diffs:
        low, high = bootstrap_ci(diffs)
        gap = sum(diffs) / len(diffs)
        out["llmlingua2_minus_random_drop_at_2x"] = gap
        out["llmlingua2_minus_random_drop_at_2x_ci95"] = [low, high]
        retention = out["span_retention_at_2x"]["llmlingua2"]
        out["headline_met"] = bool(retention >= 0.9 and gap >= 0.10 and low > 0.0)
    by_rate = {}
    for rate in sorted(set(results["rate"].to_list()) - {1.0}) if not results.is_empty() else []:
        diffs = paired(results, "llmlingua2", "random_drop", rate)
        if diffs:
            by_rate[str(rate)] = {"difference": sum(diffs) / len(diffs), "ci95": list(bootstrap_ci(diffs))}
    out["llmlingua2_minus_random_drop_by_rate"] = by_rate
    return out


def paired(results: pl.DataFrame, a: str, b: str, rate: float) -> list[float]:
    """Per question, correct under `a` minus correct under `b` at `rate` (empty if either is absent)."""
    at = results.filter((pl.col("rate") == rate) & pl.col("method").is_in([a, b]))
    if at.is_empty() or set(at["method"]) != {a, b}:
        return []
    wide = at.pivot(on="method", index=["doc_id", "question"], values="correct")
    return (wide[a].cast(pl.Float64) - wide[b].cast(pl.Float64)).to_list()


def metrics(
    cells: Sequence[dict[str, Any]],
    results: pl.DataFrame,
    agreement: Mapping[str, Any],
    trained: Mapping[str, Any],
    labels: pl.DataFrame,
    teacher: str,
    truth_rate: float,
) -> dict[str, Any]:
    """metrics.json: the headline at 2x, the labels and their teachers, parity, the classifier, every cell.
    `truth_rate`: the share of GPT tokens a perfect compression of the evaluation documents keeps."""
    quality = label_quality(labels)
    return {
        **headline(cells, results),
        "truth_rate": truth_rate,
        "teacher": teacher,
        "teacher_label_f1": {name: q["f1"] for name, q in quality.items()},
        "teacher_label_quality": quality,
        **agreement,
        "classifier": {k: v for k, v in trained.items() if isinstance(v, float)},
        "labels": label_stats(labels),
        "cells": list(cells),
    }


def summary_table(cells: Sequence[dict[str, Any]], teacher: str, oracle: bool, truth_rate: float) -> str:
    """Markdown: which labels the classifier learnt, what a perfect compression keeps, then world
    QA and real-article cells."""

    def ci(c: dict[str, Any], name: str) -> str:
        return f"{c[name]:.3f} ({c[name + '_ci95_low']:.3f}-{c[name + '_ci95_high']:.3f})"

    labels = "oracle labels (the world's truth), not an LLM's" if oracle else "an LLM teacher's labels"
    lines = [
        f"Classifier trained on teacher `{teacher}`: {labels}.",
        f"A perfect compression of the world documents keeps {truth_rate:.2f} of their GPT tokens "
        f"({1 / truth_rate:.2f}x): their fact sentences' content words, each name said once.",
        "",
        "| dataset | method | rate | achieved ratio | accuracy (95% CI) | span kept (95% CI) | tokens/s |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(cells, key=lambda c: (c["dataset"], c["method"], c["rate"]))
    for c in (c for c in ordered if "accuracy" in c):
        lines.append(
            f"| {c['dataset']} | {c['method']} | {c['rate']:.2f} | {c['achieved_ratio']:.2f}x "
            f"| {ci(c, 'accuracy')} | {ci(c, 'span_retention')} | {c['tokens_per_second']:.0f} |"
        )
    lines += [
        "",
        "| dataset | method | rate | achieved ratio | named entities and numbers kept (95% CI) | tokens/s |",
        "|---|---|---|---|---|---|",
    ]
    for c in (c for c in ordered if "entity_retention" in c):
        lines.append(
            f"| {c['dataset']} | {c['method']} | {c['rate']:.2f} | {c['achieved_ratio']:.2f}x "
            f"| {ci(c, 'entity_retention')} | {c['tokens_per_second']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def curves(
    cells: Sequence[dict[str, Any]], y: str, dataset: str = "world"
) -> dict[str, list[dict[str, float]]]:
    """Per method: (achieved ratio, y) points of one dataset, by ratio."""
    series: dict[str, list[dict[str, float]]] = {}
    for c in cells:
        if c["dataset"] == dataset:
            series.setdefault(c["method"], []).append({"achieved_ratio": c["achieved_ratio"], y: c[y]})
    return {m: sorted(rows, key=lambda r: r["achieved_ratio"]) for m, rows in series.items()}


def cell_metrics(cells: Sequence[dict[str, Any]], method: str, rate: float) -> dict[str, float]:
    """One (method, rate) cell's numbers, prefixed by dataset: what its MLflow child run logs."""
    return {
        f"{c['dataset']}.{k}": v
        for c in cells
        if c["method"] == method and c["rate"] == rate
        for k, v in c.items()
        if isinstance(v, float)
    }
