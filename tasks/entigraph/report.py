"""Metrics, headline and the readable summary of the entigraph stage."""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

import polars as pl

from tasks.entigraph.corpus import statistics
from tasks.entigraph.cpt import Pretraining
from tasks.entigraph.entities import precision_recall
from tasks.entigraph.extraction import Extraction
from tasks.entigraph.sources import Source
from tasks.entigraph.synthesis import Synthesis
from tasks.io import write_text
from tasks.outputs import JobOutputs

EXTRACTION_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "doc_id": pl.String,
        "extractor": pl.String,
        "entities": pl.List(pl.String),
        "summary": pl.String,
        "attempts": pl.Int32,
        "error": pl.String,
        "new_tokens": pl.Int32,
        "precision": pl.Float64,
        "recall": pl.Float64,
        "chosen": pl.Boolean,
    }
)


def extraction_table(
    sources: Sequence[Source], extractions: Mapping[str, Sequence[Extraction]], chosen: Sequence[str]
) -> pl.DataFrame:
    rows = []
    for name, results in extractions.items():
        for source, result, pick in zip(sources, results, chosen, strict=True):
            precision, recall = precision_recall(result.entities, source.truth)
            rows.append(
                {
                    "doc_id": source.doc_id,
                    "extractor": name,
                    "entities": list(result.entities),
                    "summary": result.summary,
                    "attempts": result.attempts,
                    "error": result.error,
                    "new_tokens": result.new_tokens,
                    "precision": precision,
                    "recall": recall,
                    "chosen": pick == name,
                }
            )
    return pl.DataFrame(rows, schema=EXTRACTION_SCHEMA)


def extraction_metrics(table: pl.DataFrame) -> dict[str, Any]:
    """Per extractor and for the chosen entities: precision, recall, failures, attempts."""
    out: dict[str, Any] = {}
    for name, part in [
        *table.group_by("extractor", maintain_order=True),
        (("chosen",), table.filter("chosen")),
    ]:
        out[str(name[0])] = {
            "precision": _mean(part["precision"]),
            "recall": _mean(part["recall"]),
            "failed_documents": int(part["error"].is_not_null().sum()),
            "mean_attempts": float(part["attempts"].mean() or 0.0),
            "new_tokens": int(part["new_tokens"].sum()),
            "mean_entities": float(part["entities"].list.len().mean() or 0.0),
        }
    return out


def _mean(column: pl.Series) -> float | None:
    """Mean of the non-null values; None when there are none (no ground truth)."""
    values = column.drop_nulls()
    return float(values.sum()) / values.len() if values.len() else None


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of accuracy against log2(tokens); nan for fewer than two points."""
    pts = [(math.log2(x), y) for x, y in points if x > 0]
    if len(pts) < 2:
        return float("nan")
    mx, my = fmean(p[0] for p in pts), fmean(p[1] for p in pts)
    var = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / var if var else float("nan")


def headline(accuracy: Mapping[str, float], synthetic: Mapping[str, int]) -> dict[str, Any]:
    """EntiGraph CPT (full budget) against raw CPT at equal tokens, and the budget slope."""
    runs = sorted((synthetic[n], accuracy[n]) for n in synthetic if n in accuracy)
    full = runs[-1][1] if runs else float("nan")
    rise = slope(runs)
    beats = bool(runs) and full > accuracy.get("raw_cpt", float("inf"))
    rises = not math.isnan(rise) and rise > 0
    return {
        "entigraph_minus_raw_cpt": full - accuracy.get("raw_cpt", float("nan")),
        "accuracy_per_doubling": rise,
        "entigraph_beats_raw_cpt": beats,
        "accuracy_rises_with_budget": rises,
        "headline_met": beats and rises,
    }


def answer_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in ("doc_id", "kind", "label", "acc")} for r in records]


def metrics(
    sources: Sequence[Source],
    synthesis: Synthesis,
    pretraining: Pretraining,
    accuracy: Mapping[str, Mapping[str, float]],
) -> dict[str, Any]:
    """The stage's metrics.json: the issue's figures first, then everything behind them."""
    entities = {s.doc_id: e.entities for s, (_, e) in zip(sources, synthesis.chosen, strict=True)}
    corpus, rows, runs = synthesis.corpus, synthesis.rows, pretraining.runs
    stats = statistics(corpus, pretraining.synthetic_tokens, pretraining.source_tokens, entities)
    by_extractor = extraction_metrics(extractions(sources, synthesis))
    acc = {k: v["accuracy"] for k, v in accuracy.items()}
    per_doc = rows.group_by("doc_id").agg(pl.col("new_tokens").sum())["new_tokens"]
    return {
        "closed_book_accuracy": acc,
        "closed_book_ci95": {
            k: [v["accuracy_ci95_low"], v["accuracy_ci95_high"]] for k, v in accuracy.items()
        },
        "entity_recall": by_extractor["chosen"]["recall"],
        "entity_precision": by_extractor["chosen"]["precision"],
        "synthetic_to_source_tokens": stats["synthetic_to_source_tokens"],
        "headline": headline(acc, {r.name: r.synthetic_tokens for r in runs if r.name != "raw_cpt"}),
        "extractors": by_extractor,
        "corpus": {**stats, **{f"dropped_{k}": v for k, v in synthesis.dropped.items()}},
        "generation": {
            **synthesis.accounting,
            "new_tokens": int(rows["new_tokens"].sum()),
            "new_tokens_per_document": per_doc.sum() / per_doc.len() if per_doc.len() else 0.0,
            "hit_max_tokens": int((rows["finish_reason"] == "length").sum()),
        },
        "synthetic_tokens": {r.name: r.synthetic_tokens for r in runs},
        "training_tokens": {r.name: len(r.tokens) for r in runs},
        "cpt": {k: dict(v) for k, v in pretraining.trained.items()},
        "questions": sum(len(s.questions) for s in sources),
    }


def curves(metrics: Mapping[str, Any]) -> dict[str, list[dict[str, float]]]:
    """Accuracy against synthetic tokens (DVC plot data); references as flat lines."""
    acc, tokens = metrics["closed_book_accuracy"], metrics["synthetic_tokens"]
    points = [
        {"synthetic_tokens": float(tokens[n]), "accuracy": acc[n]}
        for n in tokens
        if n != "raw_cpt" and n in acc
    ]
    out = {"entigraph": points}
    for name in ("raw_cpt", "base", "in_context"):
        if name in acc and points:
            out[name] = [{"synthetic_tokens": p["synthetic_tokens"], "accuracy": acc[name]} for p in points]
    return out


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of the parent MLflow run (those that exist)."""
    out = {
        **{f"accuracy.{k}": v for k, v in metrics["closed_book_accuracy"].items()},
        "entity_recall": metrics["entity_recall"],
        "synthetic_to_source_tokens": metrics["synthetic_to_source_tokens"],
        "entigraph_minus_raw_cpt": metrics["headline"]["entigraph_minus_raw_cpt"],
    }
    return {k: v for k, v in out.items() if v is not None and not math.isnan(v)}


def _fmt(value: float | None) -> str:
    return "n/a (no ground truth)" if value is None else f"{value:.3f}"


def summary(metrics: Mapping[str, Any]) -> str:
    acc, ci = metrics["closed_book_accuracy"], metrics["closed_book_ci95"]
    tokens = metrics["training_tokens"]
    lines = [
        "# entigraph: closed-book QA after continued pretraining",
        "",
        "| run | training tokens (per epoch) | accuracy | 95% CI |",
        "|---|---|---|---|",
    ]
    for name, value in acc.items():
        low, high = ci[name]
        lines.append(f"| {name} | {tokens.get(name, 0):,} | {value:.3f} | [{low:.3f}, {high:.3f}] |")
    head = metrics["headline"]
    lines += [
        "",
        f"- synthetic-to-source tokens: {metrics['synthetic_to_source_tokens']:.1f}x",
        f"- entity recall (chosen extractor per document): {_fmt(metrics['entity_recall'])}",
        f"- EntiGraph (full) minus raw CPT: {head['entigraph_minus_raw_cpt']:+.3f}; "
        f"accuracy per doubling of synthetic tokens: {head['accuracy_per_doubling']:+.4f}",
        f"- headline met: {head['headline_met']}",
        "",
    ]
    return "\n".join(lines)


def extractions(sources: Sequence[Source], synthesis: Synthesis) -> pl.DataFrame:
    """The extraction table of every extractor, the chosen one marked."""
    return extraction_table(sources, synthesis.extractions, [name for name, _ in synthesis.chosen])


def write(
    out: JobOutputs,
    sources: Sequence[Source],
    synthesis: Synthesis,
    answers: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
) -> list[Path]:
    """The stage's tables (extractions, corpus, answers), metrics, summary and plot; the files written."""
    tables = {
        "extractions": extractions(sources, synthesis),
        "corpus": synthesis.corpus,
        "answers": pl.DataFrame(list(answers)),
    }
    return [
        *out.tables(tables),
        out.metrics(metrics),
        write_text(out.reports / "summary.md", summary(metrics)),
        *out.curves(
            "accuracy",
            curves(metrics),
            "synthetic_tokens",
            "accuracy",
            "closed-book QA accuracy",
            xscale="log",
        ),
    ]
