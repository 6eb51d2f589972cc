"""Step 6: the sweep table, its headline metrics and the plots of reports/mi_sweep/.

accuracy_vs_mi     accuracy against MI (bits) per cell, one series per predictor; Spearman rho
bits_per_token     bits per notes token against compressor parameters, one series per budget
rate_distortion    rate (MI bits) against distortion (1 - accuracy), one series per compressor
                   over its budgets (predictors that read the whole context, averaged)
scaling            accuracy when scaling the compressor (smallest predictor) and when scaling
                   the predictor (smallest compressor), against the cell's GFLOPs
"""

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl

from tasks.io import write_text
from tasks.mi import ESTIMATORS, analysis, channels
from tasks.mi.base import Estimate
from tasks.mi.config import MiSweepConfig
from tasks.outputs import JobOutputs
from tasks.stats import mean_with_ci, spearman

VALIDATION = {"samples": 20000, "other_contexts": 255}
CEILING = channels.Symmetric(1024, 0.0)  # MI = log 1024 nats, far above log(M + 1)
CEILING_SAMPLES, CEILING_CONTEXTS = 4000, 31


def estimate_row(e: Estimate) -> dict[str, Any]:
    """MI of one compression in nats and bits, with its bootstrap CI."""
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


def bias_at(config: MiSweepConfig) -> dict[str, Any]:
    """The estimator's relative bias on the known-MI channels at the sweep's own N and M."""
    n = config.contexts * config.samples
    bias = channels.relative_bias(n, config.other_contexts, config.estimator)
    return {
        "estimator_bias_at_m": {"samples": n, "other_contexts": config.other_contexts, "relative_bias": bias}
    }


def _by(ok: pl.DataFrame, key: str, value: str) -> dict[str, float]:
    if not ok.height:
        return {}
    means = ok.group_by(key).agg(pl.col(value).mean()).sort(key)
    return dict(zip(means[key].to_list(), means[value].to_list(), strict=True))


def _rho(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho, or None where it is undefined (under 3 cells, or a constant side)."""
    rho = spearman(x, y)
    return None if math.isnan(rho) else rho


def _point(table: pl.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """Per-cell accuracy and per-compression bits per token and MI bits from the table alone
    (what `analysis.Resampled.draw` gives on the items as they are)."""
    accuracy = {r["cell"]: r["accuracy"] for r in table.iter_rows(named=True) if r["accuracy"] is not None}
    mi: dict[str, float] = {}
    for r in table.filter(pl.col("mi_bits").is_not_null()).iter_rows(named=True):
        key = f"{r['dataset']}-{r['compressor']}-{r['budget']}"
        mi[key], mi[f"bits:{key}"] = r["bits_per_token"], r["mi_bits"]
    return accuracy, mi


def _with_ci(name: str, value: float, ci: tuple[float, float] | None) -> dict[str, Any]:
    return {name: None if math.isnan(value) else value, f"{name}_ci95": list(ci) if ci else None}


def _ceiling() -> pl.Expr:
    """Estimates within 5% of log2(M + 1): lower bounds (the true MI may be higher)."""
    return (pl.col("mi_bits") >= 0.95 * pl.col("mi_ceiling_bits")).fill_null(False)


def metrics(
    table: pl.DataFrame,
    parameters: Mapping[str, int],
    validation: Mapping[str, Any],
    items: tuple[pl.DataFrame, pl.DataFrame] | None = None,
    uncompressed: Mapping[str, float] | None = None,
    min_accuracy: float = 0.3,
    out_of_family: Sequence[str] = (),
) -> dict[str, Any]:
    """The headline figures. Predictors that read the whole context below `min_accuracy`
    (`uncompressed`; all predictors when it is not given) are reported and left out of the
    correlation and the scaling comparison; compressions at the estimator's ceiling and
    out-of-family compressors are left out of the bits-per-token fit. Intervals resample the
    items (`items`: the answers and MI terms per item); without them, point values only."""
    ok = table.filter(pl.col("status") == "ok")
    accuracy_from_x = dict(uncompressed) if uncompressed is not None else {}
    readers = (
        sorted(p for p, a in accuracy_from_x.items() if a >= min_accuracy)
        if uncompressed is not None
        else sorted(set(ok["predictor"]))
    )
    used = ok.filter(pl.col("predictor").is_in(readers))
    estimated = table.filter(pl.col("mi_bits").is_not_null()).unique(
        ["dataset", "compressor", "budget"], maintain_order=True
    )
    at_ceiling = estimated.filter(_ceiling())
    fitted = estimated.filter(~_ceiling() & ~pl.col("compressor").is_in(list(out_of_family)))
    bpt = _by(estimated, "compressor", "bits_per_token")
    family = _by(fitted, "compressor", "bits_per_token")
    ordered = sorted(family, key=lambda m: parameters.get(m, 0))
    rises = len(ordered) > 1 and all(family[a] < family[b] for a, b in pairwise(ordered))

    correlation = analysis.spearman_over(used.to_dicts())
    fit = analysis.slope_over(fitted.to_dicts(), parameters)
    if items is not None and items[1].height:
        data = analysis.Resampled.build(table, *items)
        rho, rho_ci = analysis.interval(data, correlation)
        slope, slope_ci = analysis.interval(data, fit)
    else:
        (rho, rho_ci), (slope, slope_ci) = (correlation(*_point(table)), None), (fit(*_point(table)), None)
    scaling = analysis.per_flop(used.filter(~pl.col("compressor").is_in(list(out_of_family))), parameters)
    gains = [
        float(axis.get("accuracy_gain_per_gflop", math.nan))
        if isinstance(axis := scaling.get(a), dict)
        else math.nan
        for a in ("scale_compressor", "scale_predictor")
    ]
    out: dict[str, Any] = {
        "cells": table.height,
        "failed_cells": table.height - ok.height,
        "failures": {
            r["cell"]: r["error"] for r in table.filter(pl.col("status") != "ok").iter_rows(named=True)
        },
        "predictor_uncompressed_accuracy": accuracy_from_x,
        "min_predictor_accuracy": min_accuracy,
        "predictors_left_out": sorted(set(ok["predictor"]) - set(readers)),
        "cells_in_analyses": used.height,
        **_with_ci("spearman_mi_accuracy", rho, rho_ci),
        "spearman_mi_accuracy_by_predictor": {
            p: _rho(g["mi_bits"].to_list(), g["accuracy"].to_list())
            for (p,), g in sorted(used.group_by("predictor"), key=lambda kv: str(kv[0][0]))
        },
        "bits_per_token_by_compressor": bpt,
        **_with_ci("bits_per_token_slope", slope, slope_ci),
        "mi_bits_by_compressor": _by(estimated, "compressor", "mi_bits"),
        "notes_tokens_by_compressor": _by(estimated, "compressor", "notes_tokens"),
        "notes_answer_rate": _by(
            estimated.filter(pl.col("notes_answer_rate").is_not_null()), "compressor", "notes_answer_rate"
        ),
        "accuracy_by_compressor": _by(used, "compressor", "accuracy"),
        "accuracy_by_predictor": _by(ok, "predictor", "accuracy"),
        "best_cell_accuracy": float(used["accuracy"].max()) if used.height else None,  # type: ignore[arg-type]
        "compressor_parameters": {
            m: parameters[m] for m in sorted(bpt, key=lambda m: parameters.get(m, 0)) if m in parameters
        },
        "out_of_family": list(out_of_family),
        "predictor_parameters": {m: parameters[m] for m in sorted(set(ok["predictor"])) if m in parameters},
        "bits_per_token_rises_with_compressor_size": rises,
        "cells_at_ceiling": sorted(
            f"{r['dataset']}-{r['compressor']}-{r['budget']}" for r in at_ceiling.iter_rows(named=True)
        ),
        "scaling": scaling,
        **validation,
    }
    out["headline"] = {
        "spearman_at_least_0.6": out["spearman_mi_accuracy"] is not None
        and rho >= 0.6
        and (rho_ci is None or rho_ci[0] > 0),
        "bits_per_token_rises_with_compressor_size": rises
        and math.isfinite(slope)
        and slope > 0
        and (slope_ci is None or slope_ci[0] > 0),
        "compressor_scaling_beats_predictor_scaling": all(math.isfinite(g) for g in gains)
        and gains[0] > gains[1],
    }
    out["headline_met"] = all(out["headline"].values())
    return out


def curves(table: pl.DataFrame, metrics: Mapping[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    ok = table.filter(pl.col("status") == "ok").sort("mi_bits")
    readers = ok.filter(~pl.col("predictor").is_in(metrics["predictors_left_out"]))
    estimated = table.filter(pl.col("mi_bits").is_not_null()).unique(
        ["dataset", "compressor", "budget"], maintain_order=True
    )
    point = ["dataset", "compressor", "predictor", "budget"]
    return {
        "accuracy_vs_mi": {
            str(p): g.select("mi_bits", "accuracy", *point).to_dicts()
            for (p,), g in sorted(ok.group_by("predictor", maintain_order=True), key=lambda kv: str(kv[0][0]))
        },
        # Per compressor, its budgets: bits against distortion, averaged over the predictors that read.
        "rate_distortion": {
            str(c): g.group_by("budget")
            .agg(pl.col("mi_bits").mean(), (1 - pl.col("accuracy")).mean().alias("distortion"))
            .sort("mi_bits")
            .to_dicts()
            for (c,), g in sorted(readers.group_by("compressor"), key=lambda kv: str(kv[0][0]))
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
    scaling = metrics["scaling"]
    lines = [
        "# mi_sweep",
        "",
        f"Cells: {metrics['cells']} ({metrics['failed_cells']} failed). "
        f"Headline met: {metrics['headline_met']}.",
        "Predictors' accuracy from the whole context: "
        + ", ".join(f"{p} {a:.3f}" for p, a in metrics["predictor_uncompressed_accuracy"].items())
        + f" (below {metrics['min_predictor_accuracy']}: left out of the analyses: "
        + f"{', '.join(metrics['predictors_left_out']) or 'none'}).",
        f"Spearman rho(MI, accuracy) over {metrics['cells_in_analyses']} cells: "
        f"{_fmt(metrics['spearman_mi_accuracy'])} (95% CI {_ci(metrics['spearman_mi_accuracy_ci95'])}).",
        f"Bits per notes token vs log10(compressor parameters), in-family, below the ceiling: slope "
        f"{_fmt(metrics['bits_per_token_slope'])} (95% CI {_ci(metrics['bits_per_token_slope_ci95'])}).",
        "Accuracy gained per added GFLOP: scaling the compressor "
        f"{_fmt(scaling.get('scale_compressor', {}).get('accuracy_gain_per_gflop'))}, the predictor "
        f"{_fmt(scaling.get('scale_predictor', {}).get('accuracy_gain_per_gflop'))}.",
        f"Estimates at the log2(M + 1) ceiling (lower bounds, out of the fit): "
        f"{', '.join(metrics['cells_at_ceiling']) or 'none'}.",
        f"Known-MI validation: worst relative error {metrics['known_mi_relative_error']:.4f}; "
        f"ceiling demo: true {demo['true_nats']:.2f} nats, estimate {demo['estimate_nats']:.2f}, "
        f"log(M+1) = {demo['ceiling_nats']:.2f}.",
        "",
        "| compressor | parameters | bits/token | MI bits | notes tokens | notes with the answer |",
        "|---|---|---|---|---|---|",
    ]
    for m, p in metrics["compressor_parameters"].items():
        lines.append(
            f"| {m} | {p:,} | {metrics['bits_per_token_by_compressor'][m]:.3f} | "
            f"{metrics['mi_bits_by_compressor'][m]:.2f} | {metrics['notes_tokens_by_compressor'][m]:.1f} | "
            f"{_fmt(metrics['notes_answer_rate'].get(m))} |"
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


def _ci(ci: Sequence[float] | None) -> str:
    return "-" if ci is None else f"{ci[0]:.3f} to {ci[1]:.3f}"


def _fmt(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    keys: Sequence[str] = (
        "spearman_mi_accuracy",
        "bits_per_token_slope",
        "known_mi_relative_error",
        "cells",
        "failed_cells",
    )
    out = {k: float(metrics[k]) for k in keys if metrics[k] is not None}
    out.update({f"bits_per_token.{m}": v for m, v in metrics["bits_per_token_by_compressor"].items()})
    return out


PLOTS = [  # name, x, y, title, x scale, markers only
    ("accuracy_vs_mi", "mi_bits", "accuracy", "accuracy vs I(X;Z|Q) per cell", "linear", True),
    ("bits_per_token", "compressor_parameters", "bits_per_token", "bits per notes token", "log", False),
    ("rate_distortion", "mi_bits", "distortion", "rate vs distortion per compressor", "linear", False),
    ("scaling", "gflops", "accuracy", "scaling the compressor vs the predictor (GFLOPs)", "log", False),
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
