"""`infopipe bench checkpoints`: wall time of the cpu profile's GRPO run (stage rl_run's params,
into a temporary folder) and of one checkpoint's evaluation (its rollouts with full-vocabulary
entropy, from `checkpoints.entropy_from`; the hf scorer's load is inside the timing), and the
process's peak memory."""

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from tasks.bench.registry import BENCHMARKS
from tasks.catalog import resolve
from tasks.checkpoints import prompts, rollout
from tasks.checkpoints.series import Checkpoint
from tasks.checkpoints.verifiers import VERIFIERS
from tasks.engines import close_engines, open_engine
from tasks.params import Params
from tasks.rl_run import grpo
from tasks.tracking import hardware, library_versions


@BENCHMARKS.register("checkpoints")
def checkpoints_bench(params: Params) -> dict[str, Any]:
    config, evaluation = params.rl_run, params.checkpoints
    spec = params.models[config.model]
    items = prompts.load("world", "train", config.kinds, config.prompts, config.seed)
    with tempfile.TemporaryDirectory(prefix="bench-rl-") as folder:
        start = time.perf_counter()
        grpo.train(
            config, resolve(config.model, spec), spec, items, VERIFIERS.get(config.reward), Path(folder)
        )
        rl_seconds = time.perf_counter() - start
        last = Checkpoint(config.steps, Path(folder) / f"checkpoint-{config.steps}")
        heldout = prompts.load(
            evaluation.dataset, "heldout", evaluation.kinds, evaluation.prompts, evaluation.seed
        )
        # The engine is started (and warmed up) before timing, as the stage reuses it.
        open_engine(*rollout.checkpoint_params(params, last, config.model))
        start = time.perf_counter()
        rows = rollout.evaluate(params, last, heldout, evaluation)
        eval_seconds = time.perf_counter() - start
        close_engines()
    return {
        "rl_run_seconds": rl_seconds,
        "rl_run_steps": config.steps,
        "rl_run_seconds_per_step": rl_seconds / config.steps,
        "completions_per_step": config.prompts_per_step * config.generations,
        "checkpoint_eval_seconds": eval_seconds,
        "checkpoint_eval_completions": rows.height,
        "checkpoint_eval_tokens": int(rows["tokens"].sum()),
        "checkpoint_entropy_from": evaluation.entropy_from,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "model": config.model,
        "engine": params.engine.backend,
        "hardware": hardware(),
        **library_versions(),
    }
