"""The keep/drop classifier: fine-tune an encoder on the surviving labels (LLMLingua-2 recipe).

Differences from train_roberta.py, both fixes: padding is ignored by the loss (the reference
counts pads as "drop" examples), and gradient clipping is left to the Trainer (the reference
clips before `backward()`, so it never clips).
"""

import random
from pathlib import Path

import polars as pl

from tasks.catalog import model_spec, resolve
from tasks.compression.config import CompressionParams
from tasks.errors import InfopipeError
from tasks.hf import trainer
from tasks.io import atomic_path


def train_classifier(params: CompressionParams, labels: pl.DataFrame, out_dir: Path) -> dict[str, float]:
    """Train on a random 80/20 split of the chunks the chosen teacher labelled and the filter kept;
    returns held-out token metrics."""
    config, teacher = params.compression.classifier, params.compression.teacher
    mine = labels.filter(pl.col("rejected").is_null() & (pl.col("teacher") == teacher))
    rows = [(r["words"], r["labels"]) for r in mine.iter_rows(named=True) if r["words"]]
    if len(rows) < 2:
        raise InfopipeError(
            "compression.teacher",
            f"only {len(rows)} chunks labelled by {teacher} survived: nothing to train on",
        )
    random.Random(config.seed).shuffle(rows)
    held = max(1, round(config.validation * len(rows)))
    base = resolve(config.base, model_spec(params, config.base))
    with atomic_path(out_dir) as tmp:
        metrics = trainer.train_token_classifier(
            base,
            rows[held:],
            rows[:held],
            tmp,
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr=config.lr,
            seed=config.seed,
            device=params.engine.hf_device,
        )
    return {**metrics, "train_chunks": len(rows) - held, "valid_chunks": held}
