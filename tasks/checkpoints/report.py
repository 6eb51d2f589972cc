"""From rollouts to figures: one row of metrics per checkpoint, the law's fit across them, and the
headline check (entropy falls while reward rises; R^2 >= 0.8)."""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tasks.checkpoints import law, metrics
from tasks.checkpoints.config import CheckpointsConfig
from tasks.io import write_text
from tasks.outputs import JobOutputs
from tasks.parts import PartStore
from tasks.stats import bootstrap_ci, mean_with_ci, spearman

R2_GOAL = 0.8


def threshold(first: pl.DataFrame, config: CheckpointsConfig) -> float:
    """ARES' high window-entropy cut: a percentile of the first checkpoint's window entropies,
    fixed for the whole series so that shares compare across steps."""
    windows = [x for h in first["entropy"].to_list() for x in metrics.window_entropy(h, config.hwe_window)]
    return float(np.percentile(windows, config.hwe_percentile)) if windows else float("nan")


def checkpoint_row(rollouts: pl.DataFrame, config: CheckpointsConfig, cut: float) -> dict[str, Any]:
    entropy = rollouts["entropy"].to_list()
    rewards = rollouts["reward"].to_list()
    row: dict[str, Any] = {
        "step": int(rollouts["step"][0]),
        "policy_entropy": metrics.token_mean(entropy),
        "max_tail_mass": max((x for t in rollouts["tail_mass"].to_list() for x in t), default=0.0),
        "response_length": float(np.mean(rollouts["tokens"].to_numpy())) if rollouts.height else float("nan"),
        "epr": float(np.nanmean(rollouts["epr"].to_numpy())) if rollouts.height else float("nan"),
        "hwe_share": metrics.high_window_share(
            [metrics.window_entropy(h, config.hwe_window) for h in entropy], cut
        ),
        "nan_rewards": sum(math.isnan(r) for r in rewards),
    }
    if row["nan_rewards"]:  # a reward the verifier could not give: the checkpoint is skipped in the fit
        row |= {"reward": float("nan"), "reward_ci95_low": float("nan"), "reward_ci95_high": float("nan")}
        return row
    row |= mean_with_ci("reward", rewards)
    if "exact_match" in rollouts.columns:
        row |= mean_with_ci("accuracy", rollouts["exact_match"].to_list())
    per_item = (  # a sample counts as correct at full reward (graded verifiers give partial credit)
        rollouts.group_by("item_id", maintain_order=True)
        .agg(n=pl.len(), c=(pl.col("reward") >= 1.0).sum())
        .select("n", "c")
    )
    for k in config.pass_k:
        row[f"pass_at_{k}"] = float(np.mean([metrics.pass_at_k(n, c, k) for n, c in per_item.iter_rows()]))
    adv = metrics.advantages(rewards, rollouts["item_id"].to_list())
    row["covariance"] = metrics.covariance(rollouts["logprobs"].to_list(), adv)
    return row


def fit_metrics(table: pl.DataFrame) -> dict[str, Any]:
    """The law across the checkpoints with a finite reward; a skipped or impossible fit is a
    recorded reason, not a crash."""
    usable = table.filter(pl.col("reward").is_not_nan() & pl.col("policy_entropy").is_not_nan())
    skipped = {str(s): "reward is NaN" for s in table.filter(pl.col("reward").is_nan())["step"].to_list()}
    out: dict[str, Any] = {"law_points": usable.height, "law_skipped": skipped}
    h, r = usable["policy_entropy"].to_list(), usable["reward"].to_list()
    try:
        f = law.fit(h, r)
    except law.NoFit as reason:
        return out | {
            "law_a": None,
            "law_b": None,
            "law_r2": None,
            "law_ceiling": None,
            "no_fit": str(reason),
        }
    out |= {"law_a": f.a, "law_b": f.b, "law_r2": f.r2, "law_ceiling": f.ceiling}
    try:
        out["law_extrapolation"] = law.extrapolate(h, r)
    except law.NoFit as reason:
        out["law_extrapolation"] = {"no_fit": str(reason)}
    return out


def metrics_json(table: pl.DataFrame, config: CheckpointsConfig, cut: float) -> dict[str, Any]:
    def by_step(column: str) -> dict[str, float]:
        return {str(s): v for s, v in zip(table["step"].to_list(), table[column].to_list(), strict=True)}

    out: dict[str, Any] = {
        "checkpoints": table.height,
        "steps": table["step"].to_list(),
        "entropy_by_step": by_step("policy_entropy"),
        "reward_by_step": by_step("reward"),
        "reward_ci95_by_step": {
            str(s): [lo, hi]
            for s, lo, hi in table.select("step", "reward_ci95_low", "reward_ci95_high").iter_rows()
        },
        "accuracy_by_step": by_step("accuracy") if "accuracy" in table.columns else {},
        "pass_at_k_by_step": {
            str(k): by_step(f"pass_at_{k}") for k in config.pass_k if f"pass_at_{k}" in table
        },
        "hwe_share_by_step": by_step("hwe_share"),
        "hwe_threshold_nats": cut,
        "epr_by_step": by_step("epr"),
        "response_length_by_step": by_step("response_length"),
        "covariance_by_step": by_step("covariance") if "covariance" in table else {},
        "max_tail_mass": float(np.max(table["max_tail_mass"].to_numpy())),
        "verifier": config.verifier,
        "prompts": config.prompts,
        "samples": config.samples,
    }
    out |= fit_metrics(table)
    out |= headline(table, out.get("law_r2"))
    return out


def reward_rise(rollouts: pl.DataFrame, first: int, last: int) -> dict[str, Any]:
    """Mean reward at `last` minus at `first`, with a paired bootstrap 95% CI over prompts (the
    same prompts and seeds at every checkpoint; a prompt's reward is its samples' mean)."""
    per_item = rollouts.group_by("step", "item_id").agg(pl.col("reward").mean())
    a = per_item.filter(pl.col("step") == first).select("item_id", pl.col("reward").alias("a"))
    b = per_item.filter(pl.col("step") == last).select("item_id", pl.col("reward").alias("b"))
    both = b.join(a, on="item_id").sort("item_id")  # one order, so the seeded resamples repeat
    diff = (both["b"] - both["a"]).to_list()
    low, high = bootstrap_ci(diff)
    return {
        "reward_rise": float(np.mean(diff)) if diff else float("nan"),
        "reward_rise_ci95": [low, high],
        "reward_rise_beyond_ci": bool(diff) and low > 0,
    }


def early_entropy_drop_share(steps: Sequence[int], entropy: Sequence[float]) -> float | None:
    """Share of the total entropy drop (first to last checkpoint) reached by a quarter of the
    steps (entropy interpolated linearly between checkpoints); None without a drop."""
    total = entropy[0] - entropy[-1]
    if len(steps) < 2 or not total > 0:
        return None
    quarter = steps[0] + (steps[-1] - steps[0]) / 4
    at = float(np.interp(quarter, steps, entropy))
    return (entropy[0] - at) / total


def headline(table: pl.DataFrame, r2: float | None) -> dict[str, Any]:
    usable = table.filter(pl.col("reward").is_not_nan())
    if usable.height < 2:
        return {"headline_met": False, "headline_checks": {"enough_checkpoints": False}}
    steps, h, r = (usable[c].to_list() for c in ("step", "policy_entropy", "reward"))
    checks = {
        "entropy_falls": h[-1] < h[0] and spearman(steps, h) < 0,
        "reward_rises": r[-1] > r[0] and spearman(steps, r) > 0,
        "law_r2_at_least_0.8": r2 is not None and r2 >= R2_GOAL,
    }
    return {
        "headline_met": all(checks.values()),
        "headline_checks": checks,
        "entropy_step_spearman": spearman(steps, h),
        "reward_step_spearman": spearman(steps, r),
    }


def summary(m: dict[str, Any], table: pl.DataFrame) -> str:
    ks = [c for c in table.columns if c.startswith("pass_at_")]
    head = ["step", "policy_entropy", "reward", *[c for c in ("accuracy",) if c in table.columns], *ks]
    head += ["hwe_share", "epr", "response_length"]
    lines = [
        "# Checkpoints: policy entropy, reward and the entropy-performance law",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in table.select(head).iter_rows():
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    lines.append("")
    if m.get("law_r2") is None:
        lines.append(f"No fit of R = -a exp(H) + b: {m.get('no_fit')}")
    else:
        lines.append(
            f"R = -a exp(H) + b: a = {m['law_a']:.4g}, b = {m['law_b']:.4g}, R^2 = {m['law_r2']:.3f}, "
            f"ceiling b - a = {m['law_ceiling']:.4g} ({m['law_points']} checkpoints)"
        )
        ex = m.get("law_extrapolation", {})
        if "mean_absolute_error" in ex:
            lines.append(
                f"Fit on the first half, predicting the second: mean absolute error "
                f"{ex['mean_absolute_error']:.4g}, max {ex['max_absolute_error']:.4g}"
            )
    if "reward_rise" in m:
        low, high = m["reward_rise_ci95"]
        lines.append(
            f"Reward, last minus first checkpoint: {m['reward_rise']:+.4g} "
            f"(paired bootstrap 95% CI over prompts {low:+.4g} to {high:+.4g})"
        )
    share = m.get("early_entropy_drop_share")
    if share is not None:
        lines.append(f"Share of the entropy drop reached by a quarter of the steps: {share:.3f}")
    lines.append(f"Headline met: {m['headline_met']} ({m['headline_checks']})")
    return "\n".join(lines) + "\n"


def law_curves(table: pl.DataFrame, m: dict[str, Any]) -> dict[str, list[dict[str, float]]]:
    """The checkpoints as points (reward against entropy) and, when fitted, the law as a curve."""
    usable = table.filter(pl.col("reward").is_not_nan()).sort("policy_entropy")
    points = usable.select("step", "policy_entropy", "reward").to_dicts()
    out = {"checkpoints": points}
    if m.get("law_r2") is not None and points:
        low, high = points[0]["policy_entropy"], points[-1]["policy_entropy"]
        grid = np.linspace(low, high, 50)
        f = law.Fit(m["law_a"], m["law_b"], m["law_r2"], m["law_points"])
        out["fit"] = [
            {"policy_entropy": float(h), "reward": r}
            for h, r in zip(grid, f.predict(grid.tolist()), strict=True)
        ]
    return out


def assemble(
    store: PartStore, keys: Sequence[str], config: CheckpointsConfig
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Every rollout, one row per checkpoint (in series order), and metrics.json; the high
    window-entropy threshold comes from the first checkpoint."""
    rollouts = pl.concat([store.read(k) for k in keys])
    cut = threshold(store.read(keys[0]), config)
    table = pl.DataFrame([checkpoint_row(store.read(k), config, cut) for k in keys], infer_schema_length=None)
    m = metrics_json(table, config, cut)
    steps = table["step"].to_list()
    m["early_entropy_drop_share"] = early_entropy_drop_share(steps, table["policy_entropy"].to_list())
    return rollouts, table, m | reward_rise(rollouts, steps[0], steps[-1])


def write(
    out: JobOutputs, rollouts: pl.DataFrame, table: pl.DataFrame, m: dict[str, Any], config: CheckpointsConfig
) -> list[Path]:
    """The stage's tables, metrics, summary and plots; the files written."""
    return [
        *out.tables({"rollouts": rollouts, "series": table}),
        out.metrics(m),
        write_text(out.reports / "summary.md", summary(m, table)),
        *out.plot("entropy", table.to_dicts(), "step", "policy_entropy", "policy entropy (nats) by step"),
        *out.plot("reward", table.to_dicts(), "step", "reward", f"{config.verifier} by step"),
        *out.curves(
            "law",
            law_curves(table, m),
            "policy_entropy",
            "reward",
            "reward against policy entropy, R = -a exp(H) + b",
            markers_only=True,
            lines=["fit"],
        ),
    ]


def number(value: Any) -> bool:
    """A finite-or-not real number MLflow can log (not a bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
