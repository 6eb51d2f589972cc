"""The job's figures: headline numbers at 2x and a markdown table of every cell."""

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from tasks.compression.annotate import label_stats

TWO_X = 0.5  # the rate whose cells report "at 2x" (achieved ratios are reported beside it)


def headline(cells: Sequence[dict[str, Any]], dataset: str = "world") -> dict[str, Any]:
    at = [c for c in cells if c["dataset"] == dataset and abs(c["rate"] - TWO_X) < 1e-9]
    out: dict[str, Any] = {
        "span_retention_at_2x": {c["method"]: c["span_retention"] for c in at},
        "accuracy_at_2x": {c["method"]: c["accuracy"] for c in at},
        "achieved_ratio_at_2x": {c["method"]: c["achieved_ratio"] for c in at},
    }
    ours, rand = out["accuracy_at_2x"].get("llmlingua2"), out["accuracy_at_2x"].get("random_drop")
    if ours is not None and rand is not None:
        out["llmlingua2_minus_random_drop_at_2x"] = ours - rand
        retention = out["span_retention_at_2x"]["llmlingua2"]
        out["headline_met"] = bool(retention >= 0.9 and ours - rand >= 0.10)
    return out


def metrics(
    cells: Sequence[dict[str, Any]],
    agreement: Mapping[str, Any],
    trained: Mapping[str, Any],
    labels: pl.DataFrame,
) -> dict[str, Any]:
    """metrics.json: the headline at 2x, parity, the classifier, the labels, every cell."""
    return {
        **headline(cells),
        **agreement,
        "classifier": {k: v for k, v in trained.items() if isinstance(v, float)},
        "labels": label_stats(labels),
        "cells": list(cells),
    }


def summary_table(cells: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| dataset | method | rate | achieved ratio | accuracy (95% CI) | span kept (95% CI) | tokens/s |",
        "|---|---|---|---|---|---|---|",
    ]

    def ci(c: dict[str, Any], name: str) -> str:
        return f"{c[name]:.3f} ({c[name + '_ci95_low']:.3f}-{c[name + '_ci95_high']:.3f})"

    for c in sorted(cells, key=lambda c: (c["dataset"], c["method"], c["rate"])):
        lines.append(
            f"| {c['dataset']} | {c['method']} | {c['rate']:.2f} | {c['achieved_ratio']:.2f}x "
            f"| {ci(c, 'accuracy')} | {ci(c, 'span_retention')} | {c['tokens_per_second']:.0f} |"
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
