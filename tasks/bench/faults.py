"""Kill -9 a sweep at a random point and rerun it: only the unfinished parts run, and the final tables
equal those of an uninterrupted run (reports/reliability.json `kill_resume_identical`).

Equal means bit for bit, floats included: the one cause of a difference, a score recomputed from
another prefix-cache state, is removed (every part starts from an emptied cache, tasks/mi/steps.py),
so no tolerance is left to state. `kill_resume_max_relative_difference` reports the largest
relative difference of any float column all the same, so a regression shows as a number.

Every run is `infopipe run mi_sweep` as a user starts it: a subprocess in its own process group, so
that SIGKILL takes vLLM's engine processes with it.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import polars as pl

from tasks.bench.registry import user_env
from tasks.config import EngineParams, load

ROOT = Path(__file__).resolve().parents[2]
PARTS = Path("data/mi_sweep/parts")
TABLES = ("cells", "answers", "notes")
# A micro world and one family model: six parts (2 notes, 2 score tables, 2 answer cells).
MICRO = [
    "world.train.organisations=20",
    "world.heldout.organisations=4",
    "training.vocab_size=400",
    "training.tokenizer_documents=100",
    "training.checkpoints=2",
    "training.eval_documents=3",
    "models.world-s.train.steps=10",
    "models.world-s.max_model_len=1024",
]
SWEEP = [
    "mi_sweep.contexts=4",
    "mi_sweep.other_contexts=3",
    "mi_sweep.budgets=[8, 16]",
    "mi_sweep.compressors=[world-s]",
    "mi_sweep.predictors=[world-s]",
    "mi_sweep.answer_tokens=4",
]


def kill_resume() -> dict[str, Any]:
    """The whole check in a scratch directory: build the micro world and model, then kill and resume."""
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        for stage in ("world", "models"):
            _infopipe(Path(tmp), ["run", stage, *_sets([*MICRO, only("world-s", MICRO)])], check=True)
        return kill_and_resume(Path(tmp), MICRO + SWEEP)


def only(model: str, overrides: list[str]) -> str:
    """An override leaving `model` (as `overrides` set it) the only model: stage `models` makes
    just that one (a stage validates only the sections it reads, so nothing else names the others)."""
    spec = load(EngineParams, ROOT / "params.yaml", overrides).models[model]
    return f"models={json.dumps({model: spec.model_dump(mode='json', exclude_defaults=True)})}"


def kill_and_resume(workdir: Path, overrides: list[str], seed: int | None = None) -> dict[str, Any]:
    """Run the sweep whole; then again from scratch, SIGKILL it once a random number of its parts are
    written, and rerun it. Compare the two final tables and what the rerun did."""
    argv = ["run", "mi_sweep", *_sets(overrides)]
    _infopipe(workdir, argv, check=True)
    whole = _tables(workdir)
    total = len(list((workdir / PARTS).glob("*.parquet")))
    shutil.rmtree(workdir / "data/mi_sweep")
    shutil.rmtree(workdir / "reports/mi_sweep", ignore_errors=True)

    target = random.Random(seed).randint(1, total - 1)
    killed_after = _kill_after(workdir, argv, target)
    before = {p.name: p.stat().st_mtime_ns for p in (workdir / PARTS).glob("*.parquet")}
    _infopipe(workdir, argv, check=True)
    after = {p.name: p.stat().st_mtime_ns for p in (workdir / PARTS).glob("*.parquet")}
    resumed = _tables(workdir)
    leftovers = [p.name for p in (workdir / "data/mi_sweep").rglob(".*")]
    bitwise = {t: resumed[t].equals(whole[t]) for t in TABLES}
    differences = {t: _differences(resumed[t], whole[t]) for t in TABLES if not bitwise[t]}
    rewritten = sorted(n for n, t in before.items() if after.get(n) != t)
    duplicates = sum(resumed[t].height - resumed[t].unique().height for t in TABLES)
    return {
        "identical": all(bitwise.values()) and not (leftovers or rewritten or duplicates),
        "tables_bitwise_equal": bitwise,
        "max_relative_difference": max(
            (v for d in differences.values() for v in d.values() if isinstance(v, float)), default=0.0
        ),
        "redone_parts": len(rewritten),
        "duplicate_rows": duplicates,
        "largest_differences": differences,
        "parts": total,
        "killed_after_parts": killed_after,
        "finished_before_kill_rewritten": rewritten,
        "parts_after_rerun": len(after),
        "leftover_temporaries": leftovers,
    }


def _kill_after(workdir: Path, argv: list[str], parts: int) -> int:
    """Start the sweep, SIGKILL its process group once `parts` parts exist; the count at the kill."""
    proc = _popen(workdir, argv)
    folder = workdir / PARTS
    while proc.poll() is None:
        done = len(list(folder.glob("*.parquet"))) if folder.is_dir() else 0
        if done >= parts:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return done
        time.sleep(0.2)
    raise RuntimeError(f"the sweep finished (exit {proc.returncode}) before {parts} parts: nothing to kill")


def _differences(a: pl.DataFrame, b: pl.DataFrame) -> dict[str, float | str]:
    """Per differing column: the largest relative difference (floats) or "differs"."""
    if a.columns != b.columns or a.height != b.height:
        return {"shape": f"{a.shape} vs {b.shape}"}
    out: dict[str, float | str] = {}
    for name in a.columns:
        x, y = a[name], b[name]
        if x.equals(y):
            continue
        if x.dtype.is_float():
            scale = y.abs().clip(lower_bound=1e-12)
            out[name] = float(cast(float, ((x - y).abs() / scale).max() or 0.0))
        else:
            out[name] = "differs"
    return out


def _tables(workdir: Path) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(workdir / "data/mi_sweep" / f"{t}.parquet") for t in TABLES}


def _sets(overrides: list[str]) -> list[str]:
    return [arg for item in overrides for arg in ("-S", item)]


def _command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "flows.cli", *argv[:2], "--params", str(ROOT / "params.yaml"), *argv[2:]]


def _popen(workdir: Path, argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(argv),
        cwd=workdir,
        env=user_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def _infopipe(workdir: Path, argv: list[str], check: bool = False) -> subprocess.CompletedProcess[str]:
    command = _command(argv)
    done = subprocess.run(command, cwd=workdir, env=user_env(), capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"infopipe {' '.join(argv[:2])} failed: {done.stderr.strip()[-500:]}")
    return done
