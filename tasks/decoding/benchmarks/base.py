"""Benchmarks the decoding job runs through lm-eval, as local data + YAML (no hub download).

A benchmark is one registered `Benchmark`: its documents (`question`, `answer`, and a `prompt`
with everything the model reads) and how a response is scored; `write` puts the documents in a
JSONL file beside an lm-eval `generate_until` YAML (versioned) that reads it, so
`lm-eval run --include_path <folder>` runs it with any model, ours included (tasks/lmeval.py)."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tasks.io import write_text
from tasks.registry import Registry

VERSION = 1


@dataclass(frozen=True)
class Benchmark:
    documents: Callable[[int, int], list[dict[str, Any]]]  # (count, seed) -> documents
    correct: Callable[[str, str], float]  # (response, gold answer) -> 1.0 or 0.0


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def spec(name: str, data_file: Path, max_tokens: int) -> dict[str, Any]:
    """The lm-eval task YAML of a benchmark (exact match as lm-eval's own metric)."""
    return {
        "task": f"infopipe_{name}",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file.resolve())}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": "{{prompt}}",
        "doc_to_target": "{{answer}}",
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": max_tokens, "do_sample": False},
        "metric_list": [
            {
                "metric": "exact_match",
                "aggregation": "mean",
                "higher_is_better": True,
                "ignore_case": True,
                "ignore_punctuation": True,
            }
        ],
        "metadata": {"version": VERSION},
    }


def write(name: str, folder: Path, count: int, seed: int, max_tokens: int) -> str:
    """Write benchmark `name` (documents + YAML) under `folder`; returns its lm-eval task name."""
    docs = BENCHMARKS.get(name).documents(count, seed)
    data = folder / f"{name}.jsonl"
    write_text(data, "".join(json.dumps(d, sort_keys=True) + "\n" for d in docs))
    task = spec(name, data, max_tokens)
    write_text(folder / f"{name}.yaml", yaml.safe_dump(task, sort_keys=False))
    return str(task["task"])
