"""A checkpoint series: HF model folders with their training step, in step order.

From a directory, every sub-folder holding a `config.json` is a checkpoint; its step is the
`global_step` of the HF Trainer's `trainer_state.json`, else the number ending the folder name
(`checkpoint-500`, `step_500`). A folder with neither is an error, as are two checkpoints with
one step and checkpoints whose tokenizers differ (their entropies would not compare)."""

import hashlib
import json
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from tasks.checkpoints.config import CheckpointsConfig
from tasks.errors import InfopipeError

TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer.model", "vocab.txt")


@dataclass(frozen=True)
class Checkpoint:
    step: int
    path: Path


def discover(config: CheckpointsConfig) -> list[Checkpoint]:
    if config.checkpoints:
        series = [Checkpoint(c.step, Path(c.path)) for c in config.checkpoints]
        for c in series:
            if not (c.path / "config.json").is_file():
                raise InfopipeError(str(c.path), "is not a model folder (no config.json)")
    else:
        folder = Path(str(config.series))
        if not folder.is_dir():
            raise InfopipeError(str(folder), "checkpoint directory does not exist")
        series = [Checkpoint(step(p), p) for p in sorted(folder.iterdir()) if (p / "config.json").is_file()]
        if not series:
            raise InfopipeError(str(folder), "holds no checkpoint (no sub-folder with a config.json)")
    series.sort(key=lambda c: c.step)
    for first, second in pairwise(series):
        if first.step == second.step:
            raise InfopipeError(str(second.path), f"has step {second.step}, as {first.path} has")
    _same_tokenizer(series)
    return series


def step(folder: Path) -> int:
    state = folder / "trainer_state.json"
    if state.is_file():
        try:
            return int(json.loads(state.read_text(encoding="utf-8"))["global_step"])
        except (ValueError, KeyError, TypeError):
            raise InfopipeError(str(state), "has no integer global_step") from None
    match = re.search(r"(\d+)$", folder.name)
    if match is None:
        raise InfopipeError(
            str(folder), "missing step number (no trainer_state.json, no number ending the folder name)"
        )
    return int(match.group(1))


def tokenizer_hash(folder: Path) -> str:
    files = [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]
    if not files:
        raise InfopipeError(str(folder), f"has no tokenizer file ({', '.join(TOKENIZER_FILES)})")
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()


def _same_tokenizer(series: list[Checkpoint]) -> None:
    first = tokenizer_hash(series[0].path)
    for c in series[1:]:
        if tokenizer_hash(c.path) != first:
            raise InfopipeError(str(c.path), f"has a different tokenizer than {series[0].path}")


def fingerprint(checkpoint: Checkpoint) -> str:
    """What identifies a checkpoint's weights cheaply: its config, training state and the names
    and sizes of its weight files (a retrained series with other weights gets other parts)."""
    digest = hashlib.sha256(str(checkpoint.step).encode())
    for f in sorted(checkpoint.path.iterdir()):
        if f.name in ("config.json", "trainer_state.json"):
            digest.update(f.read_bytes())
        elif f.suffix in (".safetensors", ".bin"):
            digest.update(f"{f.name}:{f.stat().st_size}".encode())
    return digest.hexdigest()[:12]


def vocab_size(checkpoint: Checkpoint) -> int:
    config = json.loads((checkpoint.path / "config.json").read_text(encoding="utf-8"))
    size = config.get("vocab_size") or config.get("text_config", {}).get("vocab_size")
    if not isinstance(size, int):
        raise InfopipeError(str(checkpoint.path / "config.json"), "has no integer vocab_size")
    return size
