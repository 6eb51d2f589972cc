"""The stage's training run: GRPO from the configured policy on train-split world QA, the
checkpoint series written beside its place and renamed there when training ends (a killed run
leaves no half series for stage `checkpoints` to read)."""

import time
from pathlib import Path
from typing import Any

from tasks.catalog import resolve
from tasks.checkpoints import prompts
from tasks.checkpoints.verifiers import VERIFIERS
from tasks.io import atomic_path
from tasks.rl_run import grpo
from tasks.rl_run.config import RlRunParams


def train_series(params: RlRunParams, target: Path) -> tuple[list[dict[str, Any]], float]:
    """TRL's log history and the wall seconds of training the series into `target`."""
    config = params.rl_run
    spec = params.models[config.model]
    items = prompts.load("world", "train", config.kinds, config.prompts, config.seed)
    start = time.perf_counter()
    with atomic_path(target) as tmp:
        log = grpo.train(config, resolve(config.model, spec), spec, items, VERIFIERS.get(config.reward), tmp)
    return log, time.perf_counter() - start
