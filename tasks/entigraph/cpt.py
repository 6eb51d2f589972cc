"""Step 4: continued pretraining of the base model on (a) the raw source documents repeated to
the EntiGraph corpus's token count, (b) the rephrasings repeated to the same count (Rephrase CPT)
and (c) prefixes of the EntiGraph token stream (budgets).

As the reference (data/tokenize_entigraph.py, cptdata.py): texts shuffled, BOS + text + EOS,
concatenated, cut into fixed blocks without boundary masking; a `replay_rate` share of blocks is
swapped for blocks of generic text (the paper replays RedPajama; here the world's train split).
"""

import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.catalog import model_spec, resolve
from tasks.entigraph.config import CptConfig, EntigraphParams
from tasks.entigraph.sources import Source
from tasks.hf import loader, trainer
from tasks.io import atomic_path
from tasks.world.build import read_world
from tasks.world.document import from_tables


@dataclass(frozen=True)
class Run:
    name: str  # raw_cpt | rephrase_cpt | entigraph_<tokens>
    tokens: list[int]  # the training stream of one epoch (before replay)
    synthetic_tokens: int  # EntiGraph tokens in it (0 for raw)


def runs(
    source: list[int], synthetic: list[int], budgets: Sequence[float], rephrased: Sequence[int] = ()
) -> list[Run]:
    """Raw CPT (the source stream repeated to the synthetic stream's length), Rephrase CPT (the
    rephrasings repeated to the same length; only with rephrasings), then one run per budget: a
    prefix of the synthetic stream (the reference's `subsample_ratio`)."""
    out = [Run("raw_cpt", repeat_to(source, len(synthetic)), 0)]
    if rephrased:
        out.append(Run("rephrase_cpt", repeat_to(rephrased, len(synthetic)), 0))
    for share in sorted(budgets):
        size = int(len(synthetic) * share)
        if all(r.name != f"entigraph_{size}" for r in out):
            out.append(Run(f"entigraph_{size}", synthetic[:size], size))
    return out


def stream(texts: Sequence[str], tokenizer: Any, seed: int) -> list[int]:
    """Texts shuffled with `seed`, each BOS + ids + EOS, concatenated."""
    order = list(texts)
    random.Random(seed).shuffle(order)
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    out: list[int] = []
    for text in order:
        out += bos + tokenizer(text, add_special_tokens=False)["input_ids"] + eos
    return out


def repeat_to(tokens: Sequence[int], length: int) -> list[int]:
    """`tokens` repeated (whole passes, then a prefix) to exactly `length`."""
    if not tokens:
        return []
    reps = -(-length // len(tokens))
    return (list(tokens) * reps)[:length]


def blocks(tokens: Sequence[int], size: int) -> list[list[int]]:
    """Whole blocks of `size` tokens (a shorter tail is dropped, as the reference does)."""
    return [list(tokens[i : i + size]) for i in range(0, len(tokens) - size + 1, size)]


def with_replay(train: list[list[int]], replay: list[list[int]], rate: float, seed: int) -> list[list[int]]:
    """Each block replaced, with probability `rate`, by a random replay block."""
    if not replay or rate == 0:
        return train
    rng = random.Random(seed)
    return [rng.choice(replay) if rng.random() < rate else b for b in train]


def train_run(
    base: str,
    tokens: Sequence[int],
    replay: Sequence[int],
    out_dir: Path,
    config: CptConfig,
    device: str = "cpu",
) -> dict[str, float]:
    """Train one CPT model into `out_dir` (written whole or not at all)."""
    data = with_replay(
        blocks(tokens, config.block_size), blocks(replay, config.block_size), config.replay_rate, config.seed
    )
    if not data:
        return {"train_loss": float("nan"), "steps": 0.0, "blocks": 0.0}
    with atomic_path(out_dir) as tmp:
        result = trainer.train_causal_lm(
            base,
            data,
            tmp,
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr=config.lr,
            warmup=config.warmup,
            weight_decay=config.weight_decay,
            seed=config.seed,
            device=device,
        )
    return {**result, "blocks": float(len(data))}


def base_source(params: EntigraphParams) -> str:
    """Where the base model loads from (a local directory in the cpu profile)."""
    name = params.entigraph.cpt.base
    return resolve(name, model_spec(params, name))


def tokenizer(params: EntigraphParams) -> Any:
    """The base model's tokenizer: it counts every token of the stage."""
    name = params.entigraph.cpt.base
    return loader.load_tokenizer(base_source(params), model_spec(params, name))


def as_model(params: EntigraphParams, name: str, path: Path) -> EntigraphParams:
    """`params` with the trained model at `path` registered as `name` (the base model's spec)."""
    base = params.models[params.entigraph.cpt.base]
    spec = base.model_copy(
        update={"path": str(path), "hf_id": None, "package": None, "train": None, "build": None}
    )
    return params.model_copy(update={"models": {**params.models, name: spec}})


@dataclass(frozen=True)
class Pretraining:
    """Step 4's outcome: the runs (raw CPT and every budget), what training each one reported,
    and the token counts of the synthetic and source streams."""

    runs: list[Run]
    trained: dict[str, dict[str, float]]
    synthetic_tokens: int
    source_tokens: int


def pretrain_all(
    params: EntigraphParams,
    sources: Sequence[Source],
    corpus: Sequence[str],
    folder: Path,
    rephrased: Sequence[str] = (),
) -> Pretraining:
    """The base model continued on the raw documents and on the rephrasings (each repeated to
    the corpus's tokens) and on prefixes of the EntiGraph stream, one model per run under
    `folder` (only this run's stay)."""
    config = params.entigraph.cpt
    tok = tokenizer(params)
    synthetic = stream(list(corpus), tok, config.seed)
    source = stream([s.text for s in sources], tok, config.seed)
    rewrites = stream(list(rephrased), tok, config.seed)
    replay = stream([d.text for d in from_tables(read_world(), "train")], tok, config.seed)
    planned = runs(source, synthetic, config.budgets, rewrites)
    shutil.rmtree(folder, ignore_errors=True)
    base = base_source(params)
    trained = {
        r.name: train_run(base, r.tokens, replay, folder / r.name, config, params.engine.hf_device)
        for r in planned
    }
    return Pretraining(planned, trained, len(synthetic), len(source))
