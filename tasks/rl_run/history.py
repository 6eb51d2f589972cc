"""TRL's log history as the stage's figures: one row per training step (reward, policy entropy
of the training batch, completion length, loss) and the summary the headline reads."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from tasks.rl_run.config import RlRunConfig

KEYS = {  # TRL's name -> ours
    "reward": "reward",
    "reward_std": "reward_std",
    "entropy": "entropy",
    "completions/mean_length": "completion_length",
    "frac_reward_zero_std": "zero_std_groups",
    "loss": "loss",
}


def steps(log: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """One row per logged training step (TRL's final summary entry has no reward: left out)."""
    rows = []
    for entry in log:
        if "reward" not in entry or "step" not in entry:
            continue
        rows.append(
            {"step": float(entry["step"])} | {ours: float(entry[k]) for k, ours in KEYS.items() if k in entry}
        )
    return rows


def metrics(rows: list[dict[str, float]], config: RlRunConfig, seconds: float) -> dict[str, Any]:
    """Reward and entropy by step, and their means over the first and last tenth of training."""
    tenth = max(1, len(rows) // 10)
    reward = [r["reward"] for r in rows]
    entropy = [r.get("entropy", float("nan")) for r in rows]
    first, last = float(np.mean(reward[:tenth])), float(np.mean(reward[-tenth:]))
    return {
        "model": config.model,
        "steps": config.steps,
        "train_seconds": seconds,
        "checkpoint_steps": [0, *range(config.save_every, config.steps + 1, config.save_every)],
        "reward_by_step": {str(int(r["step"])): r["reward"] for r in rows},
        "entropy_by_step": {str(int(r["step"])): r.get("entropy") for r in rows},
        "reward_first_tenth": first,
        "reward_last_tenth": last,
        "entropy_first_tenth": float(np.mean(entropy[:tenth])),
        "entropy_last_tenth": float(np.mean(entropy[-tenth:])),
        "reward_rises": last > first,
    }
