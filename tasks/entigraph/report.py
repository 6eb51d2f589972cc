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
from tasks.entigraph.faithfulness import Facts, faithfulness
from tasks.entigraph.sources import Source
from tasks.entigraph.synthesis import Synthesis
from tasks.io import write_text
from tasks.outputs import JobOutputs
from tasks.stats import bootstrap_ci

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


def full_budget(synthetic: Mapping[str, int]) -> str | None:
    """The EntiGraph run with the most synthetic tokens."""
    return max(synthetic, key=lambda n: synthetic[n]) if synthetic else None


def paired(answers: pl.DataFrame, a: str, b: str, form: str | None = None) -> list[float]:
    """Per-question accuracy differences a - b on the same questions (of one form, or all)."""
    keys = ["doc_id", "kind", "form"]
    rows = answers if form is None else answers.filter(pl.col("form") == form)
    left = rows.filter(pl.col("model") == a).select([*keys, pl.col("acc").alias("a")])
    right = rows.filter(pl.col("model") == b).select([*keys, pl.col("acc").alias("b")])
    joined = left.join(right, on=keys, how="inner")
    return (joined["a"] - joined["b"]).to_list()


def difference(answers: pl.DataFrame, a: str, b: str) -> dict[str, Any]:
    """Mean paired difference a - b with its paired bootstrap 95% CI, over all questions and
    per form."""
    out: dict[str, Any] = {}
    forms = [None, *answers["form"].unique(maintain_order=True).to_list()]
    for form in forms:
        values = paired(answers, a, b, form)
        low, high = bootstrap_ci(values)
        out[form or "all"] = {
            "difference": fmean(values) if values else float("nan"),
            "ci95": [low, high],
            "questions": len(values),
        }
    return out


def by_form(answers: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Accuracy per run and question form."""
    table = answers.group_by(["model", "form"], maintain_order=True).agg(pl.col("acc").mean())
    out: dict[str, dict[str, float]] = {}
    for model, form, acc in table.iter_rows():
        out.setdefault(model, {})[form] = acc
    return out


def headline(
    accuracy: Mapping[str, float], synthetic: Mapping[str, int], answers: pl.DataFrame
) -> dict[str, Any]:
    """Full EntiGraph against raw CPT and Rephrase CPT at equal tokens (paired CIs, all
    questions and per form), the budget slope, and in-context against base."""
    runs = sorted((synthetic[n], accuracy[n]) for n in synthetic if n in accuracy)
    full = full_budget({n: t for n, t in synthetic.items() if n in accuracy})
    rise = slope(runs)
    out: dict[str, Any] = {"accuracy_per_doubling": rise, "accuracy_rises_with_budget": rise > 0}
    beats = {}
    for baseline in ("raw_cpt", "rephrase_cpt"):
        if full is None or baseline not in accuracy:
            continue
        diff = difference(answers, full, baseline)
        out[f"entigraph_minus_{baseline}"] = diff["all"]["difference"]
        out[f"entigraph_minus_{baseline}_ci95"] = diff["all"]["ci95"]
        out[f"entigraph_minus_{baseline}_by_form"] = {k: v for k, v in diff.items() if k != "all"}
        hard = [v for k, v in diff.items() if k in ("reversed", "paraphrased")]
        beats[baseline] = diff["all"]["ci95"][0] > 0 or (bool(hard) and all(v["ci95"][0] > 0 for v in hard))
        out[f"entigraph_beats_{baseline}"] = beats[baseline]
    reads = accuracy.get("in_context", float("nan")) > accuracy.get("base", float("nan"))
    out["in_context_above_base"] = reads
    out["headline_met"] = bool(beats) and all(beats.values()) and out["accuracy_rises_with_budget"] and reads
    return out


def answer_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in ("doc_id", "kind", "form", "label", "acc")} for r in records]


def faithfulness_of(synthesis: Synthesis, sources: Sequence[Source], facts: Facts) -> dict[str, Any]:
    """Faithfulness of the EntiGraph corpus and of the rephrasings (per 1k generated tokens),
    and of the source documents (1.0 and 0 by construction: the metric's own check)."""
    out = {}
    for name, table in (("entigraph", synthesis.corpus), ("rephrase", synthesis.rephrased)):
        out[name] = faithfulness(table["text"].to_list(), facts, int(table["new_tokens"].sum()))
    words = sum(len(s.text.split()) for s in sources)
    out["source_documents"] = faithfulness([s.text for s in sources], facts, words)
    return out


def metrics(
    sources: Sequence[Source],
    synthesis: Synthesis,
    pretraining: Pretraining,
    accuracy: Mapping[str, Mapping[str, float]],
    answers: Sequence[Mapping[str, Any]],
    facts: Facts,
) -> dict[str, Any]:
    """The stage's metrics.json: the issue's figures first, then everything behind them."""
    entities = {s.doc_id: e.entities for s, (_, e) in zip(sources, synthesis.chosen, strict=True)}
    corpus, rows, runs = synthesis.corpus, synthesis.rows, pretraining.runs
    stats = statistics(corpus, pretraining.synthetic_tokens, pretraining.source_tokens, entities)
    by_extractor = extraction_metrics(extractions(sources, synthesis))
    acc = {k: v["accuracy"] for k, v in accuracy.items()}
    per_doc = rows.group_by("doc_id").agg(pl.col("new_tokens").sum())["new_tokens"]
    table = pl.DataFrame(list(answers))
    synthetic = {r.name: r.synthetic_tokens for r in runs if r.synthetic_tokens}
    head = headline(acc, synthetic, table)
    return {
        "closed_book_accuracy": acc,
        "accuracy_by_kind": by_form(table),
        "entigraph_minus_raw_cpt": head.get("entigraph_minus_raw_cpt"),
        "entigraph_minus_raw_cpt_ci95": head.get("entigraph_minus_raw_cpt_ci95"),
        "entigraph_minus_rephrase_cpt": head.get("entigraph_minus_rephrase_cpt"),
        "entigraph_minus_rephrase_cpt_ci95": head.get("entigraph_minus_rephrase_cpt_ci95"),
        "questions": table.filter(pl.col("model") == "base").height,
        "generator_faithfulness": faithfulness_of(synthesis, sources, facts),
        "accuracy_per_doubling": head["accuracy_per_doubling"],
        "closed_book_ci95": {
            k: [v["accuracy_ci95_low"], v["accuracy_ci95_high"]] for k, v in accuracy.items()
        },
        "entity_recall": by_extractor["chosen"]["recall"],
        "entity_precision": by_extractor["chosen"]["precision"],
        "synthetic_to_source_tokens": stats["synthetic_to_source_tokens"],
        "headline": head,
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
        "rephrase_rows": synthesis.rephrased.height,
    }


def curves(metrics: Mapping[str, Any]) -> dict[str, list[dict[str, float]]]:
    """Accuracy against synthetic tokens (DVC plot data); references as flat lines."""
    acc, tokens = metrics["closed_book_accuracy"], metrics["synthetic_tokens"]
    points = [
        {"synthetic_tokens": float(tokens[n]), "accuracy": acc[n]} for n in tokens if tokens[n] and n in acc
    ]
    out = {"entigraph": points}
    for name in ("raw_cpt", "rephrase_cpt", "base", "in_context"):
        if name in acc and points:
            out[name] = [{"synthetic_tokens": p["synthetic_tokens"], "accuracy": acc[name]} for p in points]
    return out


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of the parent MLflow run (those that exist)."""
    out = {
        **{f"accuracy.{k}": v for k, v in metrics["closed_book_accuracy"].items()},
        "entity_recall": metrics["entity_recall"],
        "synthetic_to_source_tokens": metrics["synthetic_to_source_tokens"],
        "entigraph_minus_raw_cpt": metrics["entigraph_minus_raw_cpt"],
        "entigraph_minus_rephrase_cpt": metrics["entigraph_minus_rephrase_cpt"],
        "faithful_share": metrics["generator_faithfulness"]["entigraph"]["faithful_share"],
    }
    return {k: v for k, v in out.items() if v is not None and not math.isnan(v)}


def _fmt(value: float | None, missing: str = "n/a") -> str:
    return missing if value is None else f"{value:.3f}"


def _interval(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None or ci is None:
        return "n/a"
    return f"{value:+.3f} (paired 95% CI {ci[0]:+.3f} to {ci[1]:+.3f})"


def summary(metrics: Mapping[str, Any]) -> str:
    acc, ci = metrics["closed_book_accuracy"], metrics["closed_book_ci95"]
    tokens, kinds = metrics["training_tokens"], metrics["accuracy_by_kind"]
    forms = list(dict.fromkeys(f for per in kinds.values() for f in per))
    lines = [
        "# entigraph: closed-book QA after continued pretraining",
        "",
        f"{metrics['questions']} questions, 4 choices (chance 0.25).",
        "",
        f"| run | training tokens (per epoch) | accuracy | 95% CI | {' | '.join(forms)} |",
        f"|---|---|---|---|{'---|' * len(forms)}",
    ]
    for name, value in acc.items():
        low, high = ci[name]
        per = " | ".join(f"{kinds.get(name, {}).get(f, float('nan')):.3f}" for f in forms)
        lines.append(f"| {name} | {tokens.get(name, 0):,} | {value:.3f} | [{low:.3f}, {high:.3f}] | {per} |")
    head, faithful = metrics["headline"], metrics["generator_faithfulness"]
    lines += [
        "",
        f"- synthetic-to-source tokens: {metrics['synthetic_to_source_tokens']:.1f}x",
        "- entity recall (chosen extractor per document): "
        + _fmt(metrics["entity_recall"], "n/a (no ground truth)"),
        f"- EntiGraph (full) minus raw CPT: "
        f"{_interval(metrics['entigraph_minus_raw_cpt'], metrics['entigraph_minus_raw_cpt_ci95'])}",
        f"- EntiGraph (full) minus Rephrase CPT: "
        f"{_interval(metrics['entigraph_minus_rephrase_cpt'], metrics['entigraph_minus_rephrase_cpt_ci95'])}",
    ]
    for baseline in ("raw_cpt", "rephrase_cpt"):
        for form, d in head.get(f"entigraph_minus_{baseline}_by_form", {}).items():
            lines.append(f"  - {form} questions, minus {baseline}: {_interval(d['difference'], d['ci95'])}")
    lines += [
        f"- accuracy per doubling of synthetic tokens: {head['accuracy_per_doubling']:+.4f}",
        "- generator faithfulness (relating sentences whose entities all have a true partner; "
        "invented facts per 1k generated tokens): "
        + "; ".join(
            f"{k} {_fmt(v['faithful_share'])}, {_fmt(v['invented_facts_per_1k_tokens'])}"
            for k, v in faithful.items()
        ),
        f"- in-context above base: {head['in_context_above_base']}",
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
