"""Step 6: the sweep table, its headline metrics and the plots of reports/mi_sweep/.

accuracy_vs_mi     accuracy against MI (bits) per cell, one series per predictor; Spearman rho
bits_per_token     bits per notes token against compressor parameters, one series per budget
rate_distortion    rate (MI bits) against distortion (1 - accuracy), one series per predictor
scaling            accuracy when scaling the compressor (smallest predictor) and when scaling
                   the predictor (smallest compressor), against the scaled model's parameters
"""

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl

from tasks.io import write_text
from tasks.mi import ESTIMATORS, channels
from tasks.mi.scoring import as_log_likelihoods
from tasks.outputs import JobOutputs
from tasks.stats import mean_with_ci, spearman

VALIDATION = {"samples": 20000, "other_contexts": 255}
CEILING = channels.Symmetric(1024, 0.0)  # MI = log 1024 nats, far above log(M + 1)
CEILING_SAMPLES, CEILING_CONTEXTS = 4000, 31


def estimate_row(frame: pl.DataFrame, estimator: str, clip: bool) -> dict[str, Any]:
    """MI of one compression's log-likelihood table, in nats and bits, with its bootstrap CI."""
    e = ESTIMATORS.get(estimator)(as_log_likelihoods(frame), clip=clip)
    bits = 1 / math.log(2)
    return {
        "mi_nats": e.nats,
        "mi_bits": e.bits,
        "mi_bits_ci95_low": e.ci95[0] * bits,
        "mi_bits_ci95_high": e.ci95[1] * bits,
        "mi_ceiling_bits": e.ceiling * bits if e.ceiling is not None else None,
        "bits_per_token": e.bits_per_token,
        "scored_samples": e.samples,
        "other_contexts": e.contexts,
    }


def answer_row(answers: pl.DataFrame) -> dict[str, float]:
    return {
        **mean_with_ci("accuracy", answers["accuracy"].to_list()),
        "exact_match": float(answers["exact_match"].mean()),  # type: ignore[arg-type]
        "f1": float(answers["f1"].mean()),  # type: ignore[arg-type]
        "answers": float(answers.height),
    }


def known_mi() -> dict[str, Any]:
    """The estimator on channels with closed-form MI, and its log(M + 1) ceiling shown on a
    channel whose MI (log 1024 nats) is far above it."""
    errors = channels.relative_errors(n=VALIDATION["samples"], m=VALIDATION["other_contexts"])
    m = CEILING_CONTEXTS
    estimate = ESTIMATORS.get("monte_carlo")(CEILING.log_likelihoods(CEILING_SAMPLES, m, seed=0))
    return {
        "known_mi_relative_error": max(errors.values()),
        "known_mi_relative_errors": errors,
        "known_mi_validation": VALIDATION,
        "ceiling_demo": {
            "true_nats": CEILING.mutual_information(),
            "estimate_nats": estimate.nats,
            "ceiling_nats": math.log(m + 1),
            "other_contexts": m,
        },
    }


def _by(ok: pl.DataFrame, key: str, value: str) -> dict[str, float]:
    if not ok.height:
        return {}
    means = ok.group_by(key).agg(pl.col(value).mean()).sort(key)
    return dict(zip(means[key].to_list(), means[value].to_list(), strict=True))


def _scaling(ok: pl.DataFrame, parameters: Mapping[str, int]) -> dict[str, Any]:
    """Accuracy gain from the smallest to the largest compressor (smallest predictor) and from the
    smallest to the largest predictor (smallest compressor), averaged over datasets and budgets."""
    by_size = sorted({*ok["compressor"], *ok["predictor"]}, key=lambda m: parameters.get(m, 0))
    compressors = [m for m in by_size if m in set(ok["compressor"])]
    predictors = [m for m in by_size if m in set(ok["predictor"])]
    if len(compressors) < 2 or len(predictors) < 2:
        return {}

    def accuracy(c: str, p: str) -> float:
        cells = ok.filter((pl.col("compressor") == c) & (pl.col("predictor") == p))
        return float(cells["accuracy"].mean()) if cells.height else float("nan")  # type: ignore[arg-type]

    base = accuracy(compressors[0], predictors[0])
    out = {
        "baseline": {"compressor": compressors[0], "predictor": predictors[0], "accuracy": base},
        "scale_compressor": {"to": compressors[-1], "accuracy": accuracy(compressors[-1], predictors[0])},
        "scale_predictor": {"to": predictors[-1], "accuracy": accuracy(compressors[0], predictors[-1])},
        "series": {
            "scale_compressor": [
                {"parameters": parameters[c], "accuracy": accuracy(c, predictors[0]), "model": c}
                for c in compressors
            ],
            "scale_predictor": [
                {"parameters": parameters[p], "accuracy": accuracy(compressors[0], p), "model": p}
                for p in predictors
            ],
        },
    }
    out["compressor_scaling_beats_predictor_scaling"] = (
        out["scale_compressor"]["accuracy"] > out["scale_predictor"]["accuracy"]
    )
    return out


def _rho(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho, or None where it is undefined (under 3 cells, or a constant side)."""
    rho = spearman(x, y)
    return None if math.isnan(rho) else rho


def metrics(
    table: pl.DataFrame, parameters: Mapping[str, int], validation: Mapping[str, Any]
) -> dict[str, Any]:
    ok = table.filter(pl.col("status") == "ok")
    estimated = table.filter(pl.col("mi_bits").is_not_null()).unique(["dataset", "compressor", "budget"])
    bpt = _by(estimated, "compressor", "bits_per_token")
    ordered = sorted(bpt, key=lambda m: parameters.get(m, 0))
    rises = len(ordered) > 1 and all(bpt[a] < bpt[b] for a, b in pairwise(ordered))
    rho = _rho(ok["mi_bits"].to_list(), ok["accuracy"].to_list())
    scaling = _scaling(ok, parameters) if ok.height else {}
    out: dict[str, Any] = {
        "cells": table.height,
        "failed_cells": table.height - ok.height,
        "failures": {
            r["cell"]: r["error"] for r in table.filter(pl.col("status") != "ok").iter_rows(named=True)
        },
        "spearman_mi_accuracy": rho,
        "spearman_mi_accuracy_by_predictor": {
            p: _rho(g["mi_bits"].to_list(), g["accuracy"].to_list())
            for (p,), g in sorted(ok.group_by("predictor"), key=lambda kv: str(kv[0][0]))
        },
        "bits_per_token_by_compressor": bpt,
        "mi_bits_by_compressor": _by(estimated, "compressor", "mi_bits") if estimated.height else {},
        "notes_tokens_by_compressor": _by(estimated, "compressor", "notes_tokens")
        if estimated.height
        else {},
        "accuracy_by_compressor": _by(ok, "compressor", "accuracy"),
        "accuracy_by_predictor": _by(ok, "predictor", "accuracy"),
        "compressor_parameters": {m: parameters[m] for m in ordered},
        "predictor_parameters": {m: parameters[m] for m in sorted(set(ok["predictor"])) if m in parameters},
        "bits_per_token_rises_with_compressor_size": rises,
        # Estimates within 5% of log2(M + 1): the true MI may be higher; raise M to see it.
        "at_ceiling": sorted(
            f"{r['dataset']}-{r['compressor']}-{r['budget']}"
            for r in estimated.iter_rows(named=True)
            if r["mi_bits"] >= 0.95 * r["mi_ceiling_bits"]
        )
        if estimated.height
        else [],
        "scaling": scaling,
        **validation,
    }
    out["headline"] = {
        "spearman_at_least_0.6": rho is not None and rho >= 0.6,
        "bits_per_token_rises_with_compressor_size": rises,
        "compressor_scaling_beats_predictor_scaling": bool(
            scaling.get("compressor_scaling_beats_predictor_scaling", False)
        ),
    }
    out["headline_met"] = all(out["headline"].values())
    return out


def curves(table: pl.DataFrame, metrics: Mapping[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    ok = table.filter(pl.col("status") == "ok").sort("mi_bits")
    estimated = table.filter(pl.col("mi_bits").is_not_null()).unique(["dataset", "compressor", "budget"])
    point = ["dataset", "compressor", "predictor", "budget"]
    return {
        "accuracy_vs_mi": {
            str(p): g.select("mi_bits", "accuracy", *point).to_dicts()
            for (p,), g in sorted(ok.group_by("predictor", maintain_order=True), key=lambda kv: str(kv[0][0]))
        },
        "rate_distortion": {
            str(p): g.select("mi_bits", (1 - pl.col("accuracy")).alias("distortion"), *point).to_dicts()
            for (p,), g in sorted(ok.group_by("predictor", maintain_order=True), key=lambda kv: str(kv[0][0]))
        },
        "bits_per_token": {
            f"budget_{b}": g.sort("compressor_parameters")
            .select("compressor_parameters", "bits_per_token", "compressor", "dataset")
            .to_dicts()
            for (b,), g in sorted(estimated.group_by("budget"), key=lambda kv: int(kv[0][0]))
        },
        "scaling": metrics["scaling"].get("series", {}),
    }


def summary(metrics: Mapping[str, Any], table: pl.DataFrame) -> str:
    demo = metrics["ceiling_demo"]
    lines = [
        "# mi_sweep",
        "",
        f"Cells: {metrics['cells']} ({metrics['failed_cells']} failed). "
        f"Headline met: {metrics['headline_met']}.",
        f"Spearman rho(MI, accuracy) over cells: {_fmt(metrics['spearman_mi_accuracy'])}.",
        f"Estimates at the log2(M + 1) ceiling: {', '.join(metrics['at_ceiling']) or 'none'}.",
        f"Known-MI validation: worst relative error {metrics['known_mi_relative_error']:.4f}; "
        f"ceiling demo: true {demo['true_nats']:.2f} nats, estimate {demo['estimate_nats']:.2f}, "
        f"log(M+1) = {demo['ceiling_nats']:.2f}.",
        "",
        "| compressor | parameters | bits/token | MI bits | notes tokens |",
        "|---|---|---|---|---|",
    ]
    for m, p in metrics["compressor_parameters"].items():
        lines.append(
            f"| {m} | {p:,} | {metrics['bits_per_token_by_compressor'][m]:.3f} | "
            f"{metrics['mi_bits_by_compressor'][m]:.2f} | {metrics['notes_tokens_by_compressor'][m]:.1f} |"
        )
    header = ["dataset", "compressor", "predictor", "budget", "status", "accuracy", "F1", "MI bits"]
    header += ["bits/token", "GFLOPs"]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in table.iter_rows(named=True):
        lines.append(
            f"| {r['dataset']} | {r['compressor']} | {r['predictor']} | {r['budget']} | {r['status']} | "
            f"{_fmt(r['accuracy'])} | {_fmt(r['f1'])} | {_fmt(r['mi_bits'])} | {_fmt(r['bits_per_token'])} | "
            f"{_fmt(r['flops'] / 1e9 if r['flops'] is not None else None)} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    keys: Sequence[str] = ("spearman_mi_accuracy", "known_mi_relative_error", "cells", "failed_cells")
    out = {k: float(metrics[k]) for k in keys if metrics[k] is not None}
    out.update({f"bits_per_token.{m}": v for m, v in metrics["bits_per_token_by_compressor"].items()})
    return out


PLOTS = [  # name, x, y, title, x scale, markers only
    ("accuracy_vs_mi", "mi_bits", "accuracy", "accuracy vs I(X;Z|Q) per cell", "linear", True),
    ("bits_per_token", "compressor_parameters", "bits_per_token", "bits per notes token", "log", False),
    ("rate_distortion", "mi_bits", "distortion", "rate (bits) vs distortion (1 - accuracy)", "linear", True),
    ("scaling", "parameters", "accuracy", "scaling the compressor vs the predictor", "log", False),
]


def write(
    out: JobOutputs,
    table: pl.DataFrame,
    answers: pl.DataFrame,
    notes: pl.DataFrame,
    metrics: Mapping[str, Any],
) -> list[Path]:
    """The stage's tables, metrics, summary and plots; the files written."""
    files = [
        *out.tables({"cells": table, "answers": answers, "notes": notes}),
        out.metrics(metrics),
        write_text(out.reports / "summary.md", summary(metrics, table)),
    ]
    series = curves(table, metrics)
    for name, x, y, title, scale, scatter in PLOTS:
        files += out.curves(name, series[name], x, y, title, xscale=scale, markers_only=scatter)
    return files
