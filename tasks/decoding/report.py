"""The decoding table, its headline metrics and the plots of reports/decoding/.

Per cell (model x sampler setting): benchmark accuracy with a 95% CI (lm-eval runs the
benchmarks; each benchmark scores its responses), EAD's share of large-model tokens, and on
prose: distinct-1/2/3, self-BLEU, repetition, surprisal and entropy per token (bits), judge
perplexity, and for Mirostat the achieved surprise against its target tau.

quality_diversity  judge perplexity against distinct-2, one point per setting
surprisal          mean surprisal (bits) by position, one curve per setting
repetition         repetition per setting, against judge perplexity
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tasks.decoding import diversity
from tasks.decoding.benchmarks import BENCHMARKS
from tasks.decoding.config import DecodingConfig
from tasks.io import write_text
from tasks.outputs import JobOutputs
from tasks.samplers import SamplerSetting
from tasks.stats import bootstrap_ci, mean_with_ci

MIROSTAT = ("mirostat_v1", "mirostat_v2")
DIVERSE = ("typical", "mirostat_v1", "mirostat_v2", "top_h")  # the headline's samplers
BASELINES = ("greedy", "top_k")
COMPARABLE = 1.25  # judge perplexity within this factor of top-k's counts as comparable
SURPRISE_TOLERANCE = 0.10
IDENTITY = ("model", "setting", "sampler", "args", "temperature", "order")
RULE = (
    f"repetition below min(greedy, top-k) and judge perplexity <= {COMPARABLE} x top-k's; "
    f"Mirostat surprise within {SURPRISE_TOLERANCE:.0%} of tau"
)


def setting_columns(model: str, setting: SamplerSetting) -> dict[str, Any]:
    return {
        "model": model,
        "setting": setting.label,
        "sampler": setting.name,
        "args": json.dumps(setting.args, sort_keys=True),
        "temperature": setting.temperature,
        "order": setting.order,
    }


def answer_rows(samples: Mapping[str, Sequence[Mapping[str, Any]]]) -> pl.DataFrame:
    """One row per benchmark document: lm-eval's sample log, scored by its benchmark."""
    rows = []
    for task, records in samples.items():
        name = task.removeprefix("infopipe_")
        correct = BENCHMARKS.get(name).correct
        for s in records:
            response = str(s["resps"][0][0])
            rows.append(
                {
                    "benchmark": name,
                    "id": str(s["doc"]["id"]),
                    "answer": str(s["doc"]["answer"]),
                    "response": response,
                    "correct": correct(response, str(s["doc"]["answer"])),
                    "exact_match": float(s.get("exact_match", float("nan"))),
                }
            )
    return pl.DataFrame(rows)


PROSE_COLUMNS = (
    "distinct_1",
    "distinct_2",
    "distinct_3",
    "self_bleu",
    "repetition",
    "surprisal_bits",
    "entropy_bits",
    "judge_perplexity",
    "continuations",
    "target_surprise_bits",
    "surprise_relative_error",
    "large_share",
)


def complete(cells: pl.DataFrame, benchmarks: Sequence[str]) -> pl.DataFrame:
    """The cell table with every metric column, null where a cell has none (failed, no prose)."""
    columns = [
        *(f"accuracy_{b}{s}" for b in benchmarks for s in ("", "_ci95_low", "_ci95_high")),
        *PROSE_COLUMNS,
    ]
    missing = [c for c in columns if c not in cells.columns]
    return cells.with_columns(*(pl.lit(None, dtype=pl.Float64).alias(c) for c in missing))


def answer_metrics(answers: pl.DataFrame, benchmarks: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in benchmarks:
        part = answers.filter(pl.col("benchmark") == name)
        out |= mean_with_ci(f"accuracy_{name}", part["correct"].to_list())
        out[f"exact_match_{name}"] = float(part["exact_match"].mean() or 0.0)  # type: ignore[arg-type]
    return out


def prose_metrics(prose: pl.DataFrame, setting: SamplerSetting, settle: int = 0) -> dict[str, float]:
    """Diversity, repetition, the generator's surprisal (all tokens, and after the first `settle`
    of each continuation) and entropy, the judge's perplexity; Mirostat's steady-state error."""
    texts = prose["text"].to_list()
    surprisal = [x for row in prose["surprisal"].to_list() for x in row]
    steady = [x for row in prose["surprisal"].to_list() for x in row[settle:]]
    entropy = [x for row in prose["entropy"].to_list() for x in row]
    judged = float(prose["judge_bits"].sum()) / max(1, int(prose["judge_tokens"].sum()))
    out = {
        "distinct_1": diversity.distinct(texts, 1),
        "distinct_2": diversity.distinct(texts, 2),
        "distinct_3": diversity.distinct(texts, 3),
        "self_bleu": diversity.self_bleu(texts),
        "repetition": float(np.mean([diversity.repetition(t) for t in texts])),
        "surprisal_bits": float(np.mean(surprisal)),
        "steady_surprisal_bits": float(np.mean(steady)) if steady else float("nan"),
        "entropy_bits": float(np.mean(entropy)) if entropy else float("nan"),
        "judge_perplexity": float(2.0**judged),
        "continuations": float(prose.height),
    }
    if setting.name in MIROSTAT:
        tau = float(setting.args["tau"])
        out["target_surprise_bits"] = tau
        out["surprise_relative_error"] = abs(out["steady_surprisal_bits"] - tau) / tau
    return out


def trajectory(prose: pl.DataFrame) -> list[dict[str, float]]:
    """Mean surprisal (bits) at each position over the continuations."""
    rows = np.array(prose["surprisal"].to_list(), dtype=float)
    return [{"position": float(i), "surprisal": float(v)} for i, v in enumerate(rows.mean(axis=0))]


def _finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def metrics(cells: pl.DataFrame, config: DecodingConfig, prose: pl.DataFrame | None = None) -> dict[str, Any]:
    """Per prose track its maps (setting label -> value) and headline check; the first track's at
    the top level; the headline over the tracks whose judge is not their generator. With the
    continuations (`prose`), each headline sampler's repetition minus top-k's, paired by prefix."""
    ok = cells.filter(pl.col("status") == "ok")
    tracks = {
        name: track_metrics(ok, track.model, track.judge, config.prose.settle_tokens)
        for name, track in config.prose.tracks.items()
    }
    if prose is not None and not prose.is_empty():
        for name, track in config.prose.tracks.items():
            tracks[name]["repetition_minus_top_k"] = repetition_minus_top_k(
                prose.filter(pl.col("model") == track.model), config.bootstrap, config.seed
            )
    out: dict[str, Any] = {"tracks": tracks}
    if tracks:
        first = next(iter(tracks))
        out |= {"track": first, "prose_model": tracks[first]["generator"]}
        out |= {k: v for k, v in tracks[first].items() if not k.startswith("headline")}
    out["accuracy"] = {
        f"{r['model']}/{r['setting']}": {b: r[f"accuracy_{b}"] for b in config.benchmarks}
        for r in ok.iter_rows(named=True)
    }
    pairs = ok.filter(pl.col("large_share").is_not_null())  # samplers with further models (EAD)
    out["ead_large_share"] = {
        f"{r['model']}/{r['setting']}": r["large_share"] for r in pairs.iter_rows(named=True)
    }
    out["failed_cells"] = {
        f"{r['model']}/{r['setting']}": r["error"]
        for r in cells.filter(pl.col("status") != "ok").iter_rows(named=True)
    }
    independent = [n for n, t in tracks.items() if not t["self_judged"]]
    decisive = independent or list(tracks)[:1]
    found = [tracks[n]["headline_met"] for n in decisive]
    out["headline_tracks"] = decisive
    out["headline_met"] = None if not found or None in found else all(found)
    out["headline_rule"] = RULE + (
        "; judged on the tracks whose judge is not their generator" if independent else ""
    )
    return out


def repetition_minus_top_k(prose: pl.DataFrame, resamples: int, seed: int) -> dict[str, dict[str, float]]:
    """Per headline sampler, its repetition minus top-k's on the same prefixes: the mean
    difference and its paired bootstrap 95% CI over prefixes."""
    rep = prose.select(
        "setting",
        "sampler",
        "prefix_id",
        pl.col("text").map_elements(diversity.repetition, return_dtype=pl.Float64).alias("rep"),
    )
    base = rep.filter(pl.col("sampler") == "top_k")
    if base.is_empty():
        return {}
    base = base.filter(pl.col("setting") == base["setting"].min()).select("prefix_id", top_k="rep")
    out = {}
    for setting in sorted(set(rep.filter(pl.col("sampler").is_in(DIVERSE))["setting"])):
        pairs = rep.filter(pl.col("setting") == setting).join(base, on="prefix_id").sort("prefix_id")
        diffs = (pairs["rep"] - pairs["top_k"]).to_list()
        low, high = bootstrap_ci(diffs, resamples=resamples, seed=seed)
        out[setting] = {"difference": float(np.mean(diffs)), "ci95_low": low, "ci95_high": high}
    return out


def track_metrics(ok: pl.DataFrame, model: str, judge: str, settle: int) -> dict[str, Any]:
    """One prose track's maps (setting label -> value), Mirostat's errors and headline check."""
    prose = ok.filter((pl.col("model") == model) & pl.col("judge_perplexity").is_not_null())

    def by_setting(frame: pl.DataFrame, column: str) -> dict[str, float]:
        return {r["setting"]: r[column] for r in frame.iter_rows(named=True) if _finite(r[column])}

    errors = by_setting(prose.filter(pl.col("sampler").is_in(MIROSTAT)), "surprise_relative_error")
    return {
        "generator": model,
        "judge": judge,
        "self_judged": judge == model,  # the judge scores its own continuations
        "mirostat_settle_tokens": settle,
        "repetition": by_setting(prose, "repetition"),
        "judge_perplexity": by_setting(prose, "judge_perplexity"),
        "distinct_2": by_setting(prose, "distinct_2"),
        "self_bleu": by_setting(prose, "self_bleu"),
        "mirostat_surprise_relative_errors": errors,
        "mirostat_surprise_relative_error": max(errors.values()) if errors else None,
        **headline(prose),
    }


def headline(prose: pl.DataFrame) -> dict[str, Any]:
    """Typical, Mirostat and top-H repeat less than greedy and top-k at a judge perplexity
    comparable to top-k's; Mirostat's achieved surprise within 10% of its target."""
    rows = {r["setting"]: r for r in prose.iter_rows(named=True)}
    base = {name: [r for r in rows.values() if r["sampler"] == name] for name in BASELINES}
    if not all(base.values()):
        return {"headline_met": None, "headline_reason": "greedy or top-k missing from the prose cells"}
    floor = min(r["repetition"] for rs in base.values() for r in rs)
    top_k_ppl = min(r["judge_perplexity"] for r in base["top_k"])
    checks = {}
    for label, r in rows.items():
        if r["sampler"] in DIVERSE:
            checks[label] = {
                "repeats_less": r["repetition"] < floor,
                "comparable_perplexity": r["judge_perplexity"] <= COMPARABLE * top_k_ppl,
            }
            if r["sampler"] in MIROSTAT:
                checks[label]["surprise_within_10pct"] = r["surprise_relative_error"] <= SURPRISE_TOLERANCE
    met = bool(checks) and all(all(c.values()) for c in checks.values())
    return {"headline_checks": checks, "headline_met": met, "headline_rule": RULE}


def curves(cells: pl.DataFrame, trajectories: Mapping[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Points per prose cell (series "model setting"); surprisal curves of the first track's model."""
    ok = cells.filter((pl.col("status") == "ok") & pl.col("judge_perplexity").is_not_null())
    points = {f"{r['model']} {r['setting']}": r for r in ok.iter_rows(named=True)}
    return {
        "quality_diversity": {
            s: [{"judge_perplexity": r["judge_perplexity"], "distinct_2": r["distinct_2"]}]
            for s, r in points.items()
        },
        "surprisal": dict(trajectories),
        "repetition": {
            s: [{"judge_perplexity": r["judge_perplexity"], "repetition": r["repetition"]}]
            for s, r in points.items()
        },
    }


def summary(metrics: Mapping[str, Any], cells: pl.DataFrame, benchmarks: Sequence[str]) -> str:
    lines = ["# decoding", ""]
    head = [
        "model",
        "setting",
        *(f"acc {b}" for b in benchmarks),
        "rep-4",
        "distinct-2",
        "self-BLEU",
        "judge ppl",
        "surprisal",
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in cells.iter_rows(named=True):
        if r["status"] != "ok":
            lines.append(f"| {r['model']} | {r['setting']} | failed: {r['error']} |")
            continue
        vals = [r.get(f"accuracy_{b}") for b in benchmarks] + [
            r.get(k) for k in ("repetition", "distinct_2", "self_bleu", "judge_perplexity", "surprisal_bits")
        ]
        cells_text = [
            "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3f}" for v in vals
        ]
        lines.append(f"| {r['model']} | {r['setting']} | " + " | ".join(cells_text) + " |")
    lines += ["", "Prose tracks (a row's judge perplexity is its track's judge's):", ""]
    for name, t in metrics.get("tracks", {}).items():
        caveat = " (the judge scores its own continuations)" if t["self_judged"] else ""
        lines.append(
            f"- {name}: generator {t['generator']}, judge {t['judge']}{caveat}; "
            f"headline met: {t['headline_met']}; "
            f"Mirostat off tau by {_pct(t['mirostat_surprise_relative_error'])}"
        )
        for setting, d in t.get("repetition_minus_top_k", {}).items():
            lines.append(
                f"  - {setting}: repetition minus top-k's {d['difference']:+.4f} "
                f"(paired 95% CI {d['ci95_low']:+.4f} to {d['ci95_high']:+.4f})"
            )
    lines += [
        "",
        f"Mirostat's surprise is measured after the first {metrics.get('mirostat_settle_tokens')} tokens of "
        "each continuation.",
        f"Headline met: {metrics.get('headline_met')} on {', '.join(metrics.get('headline_tracks', []))} "
        f"({metrics.get('headline_rule', '')})",
        "",
    ]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def large_share(generations: Sequence[Any]) -> float:
    """The share of all generated tokens the further (large) model drew (EAD's generations)."""
    tokens = sum(len(g.models) for g in generations)
    return sum(g.models.count("large") for g in generations) / tokens if tokens else float("nan")


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The flat numbers of metrics.json for the MLflow parent run, per prose track."""
    out: dict[str, float] = {}
    for name, t in metrics.get("tracks", {}).items():
        out |= {f"{name}.repetition.{k}": v for k, v in t["repetition"].items()}
        out |= {f"{name}.judge_perplexity.{k}": v for k, v in t["judge_perplexity"].items()}
        if t["mirostat_surprise_relative_error"] is not None:
            out[f"{name}.mirostat_surprise_relative_error"] = t["mirostat_surprise_relative_error"]
    return {re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", k): float(v) for k, v in out.items()}


PLOTS = [  # name, x, y, title, markers only
    ("quality_diversity", "judge_perplexity", "distinct_2", "quality (judge perplexity) vs diversity", True),
    ("surprisal", "position", "surprisal", "surprisal (bits) by position", False),
    ("repetition", "judge_perplexity", "repetition", "repetition (seq-rep-4) by sampler", True),
]


def write(
    out: JobOutputs,
    tables: Mapping[str, pl.DataFrame],
    trajectories: Mapping[str, list[dict[str, float]]],
    metrics: Mapping[str, Any],
    benchmarks: Sequence[str],
) -> list[Path]:
    """The stage's tables (cells, answers, prose), metrics, summary and plots; the files written."""
    files = [
        *out.tables(tables),
        out.metrics(metrics),
        write_text(out.reports / "summary.md", summary(metrics, tables["cells"], benchmarks)),
    ]
    series = curves(tables["cells"], trajectories)
    for name, x, y, title, scatter in PLOTS:
        files += out.curves(name, series[name], x, y, title, markers_only=scatter)
    return files
