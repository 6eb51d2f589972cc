"""Train one model of the family from scratch on fresh world samples.

Every batch draws new companies with new names, so the model learns to copy unseen strings from
the document rather than memorise a fixed set; held-out names are never drawn. Training runs in
phases (reading first, then the other roles) and weighs two losses (TrainingConfig.loss).
Settings follow reference/family.md: AdamW (0.9, 0.95), decay on matrices, clip 1.0, warmup then
cosine, float32 unless params ask for bf16 autocast (never switched on CPU flags: the same params
give the same weights on every x86 CPU).
"""

import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.config import TrainRecipe
from tasks.hf import builder
from tasks.io import atomic_path
from tasks.models.config import LossWeights, Phase, TrainingConfig
from tasks.models.formats import Segment, sample
from tasks.world.config import WorldConfig, WorldSplit
from tasks.world.document import from_company
from tasks.world.facts import draw_companies
from tasks.world.render import render

FRESH = WorldSplit(organisations=16, people=32, cities=16, products=16)  # drawn per 16 samples


def fresh_samples(
    world: WorldConfig, phase: Phase, seed: int | str, exclude: set[str]
) -> Iterator[list[Segment]]:
    """An endless stream of one phase's samples about newly drawn companies (never `exclude`d names)."""
    rng = random.Random(seed)
    distractors = world.distractors if phase.distractors is None else phase.distractors
    boilerplate = world.boilerplate if phase.boilerplate is None else phase.boilerplate
    while True:
        for company in draw_companies(rng, "train", FRESH, set(exclude)):
            doc = from_company("fresh", company, render(company, rng, distractors, boilerplate))
            yield sample(doc, rng, phase.blocks, phase.kinds)


def phase_ends(training: TrainingConfig, steps: int) -> list[int]:
    """The step at which each phase ends (the last one at `steps`)."""
    ends = [round(steps * share) for share in itertools.accumulate(p.share for p in training.phases)]
    return [*ends[:-1], steps]


class Curriculum:
    """The samples of each step: phase i draws from its own stream, seeded from (seed, i)."""

    def __init__(self, world: WorldConfig, training: TrainingConfig, seed: int, exclude: set[str]) -> None:
        self.streams = [
            fresh_samples(world, phase, f"{seed}/{i}", exclude) for i, phase in enumerate(training.phases)
        ]
        self.training = training

    def batch(self, step: int, steps: int, size: int) -> list[list[Segment]]:
        phase = next(i for i, end in enumerate(phase_ends(self.training, steps)) if step < end)
        return [next(self.streams[phase]) for _ in range(size)]


def encode(batch: list[list[Segment]], tokenizer: Any, max_len: int) -> dict[str, Any]:
    """Token ids, attention mask and labels (-100 where no loss) for a right-padded batch.

    The whole text is tokenized at once, as a prompt is at inference, and a token carries loss
    when it starts inside a trained segment."""
    import torch

    texts = ["".join(text for text, _ in segments) for segments in batch]
    encoded = tokenizer(texts, return_offsets_mapping=True, truncation=True, max_length=max_len)
    rows, labels = encoded["input_ids"], []
    for segments, ids, offsets in zip(batch, rows, encoded["offset_mapping"], strict=True):
        trained, pos = [], 0
        for text, loss in segments:
            if loss:
                trained.append((pos, pos + len(text)))
            pos += len(text)
        labels.append(
            [
                tok if end > start and any(a <= start < b for a, b in trained) else -100
                for tok, (start, end) in zip(ids, offsets, strict=True)
            ]
        )
    width = -(-max(len(ids) for ids in rows) // 32) * 32  # few distinct shapes: bounded kernel caches
    pad = tokenizer.pad_token_id

    def padded(seqs: list[list[int]], value: int) -> Any:
        return torch.tensor([s + [value] * (width - len(s)) for s in seqs])

    return {
        "input_ids": padded(rows, pad),
        "attention_mask": padded([[1] * len(ids) for ids in rows], 0),
        "labels": padded(labels, -100),
    }


def weighted_loss(model: Any, batch: dict[str, Any], weights: LossWeights) -> Any:
    """tokens * mean next-token cross-entropy over every token + targets * mean over the labelled
    (target) positions. With no weight on tokens the LM head runs on the targets only (most
    positions are the document: about a fifth of the step time saved)."""
    import torch.nn.functional as F

    hidden = model.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state[:, :-1]
    labels = batch["labels"][:, 1:]
    if not weights.tokens:
        keep = labels != -100
        return weights.targets * F.cross_entropy(model.lm_head(hidden[keep]).float(), labels[keep])
    every = batch["attention_mask"][:, 1:].bool()
    losses = F.cross_entropy(
        model.lm_head(hidden[every]).float(), batch["input_ids"][:, 1:][every], reduction="none"
    )
    loss = weights.tokens * losses.mean()
    targeted = labels[every] != -100
    if weights.targets and bool(targeted.any()):  # a sample may draw no block (expected counts < 1)
        loss = loss + weights.targets * losses[targeted].mean()
    return loss


def learning_rate(step: int, steps: int, peak: float, training: TrainingConfig) -> float:
    """Linear warmup, then cosine decay to `final_lr` of the peak (step counts from 0)."""
    warm = max(1, round(training.warmup * steps))
    if step < warm:
        return peak * (step + 1) / warm
    progress = (step - warm) / max(1, steps - warm)
    floor = training.final_lr
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def checkpoint_steps(steps: int, count: int) -> list[int]:
    """`count` steps evenly along training, the last one being the final step."""
    return sorted({round(steps * k / count) for k in range(1, count + 1)}) if count else []


@dataclass
class Trained:
    parameters: int
    steps: int
    tokens: int = 0
    trained_tokens: int = 0  # target tokens (answers and other role outputs)
    seconds: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)  # step, loss, lr, tokens
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)
    reading: list[dict[str, float]] = field(default_factory=list)  # what on_checkpoint measured


def train(
    recipe: TrainRecipe,
    training: TrainingConfig,
    tokenizer: Any,
    samples: Curriculum,
    out_dir: Path,
    max_len: int,
    seed: int,
    on_log: Callable[[dict[str, float]], None] = lambda _: None,
    on_checkpoint: Callable[[int, Any], dict[str, float]] | None = None,
) -> Trained:
    """Train, save checkpoints under out_dir/checkpoints/step-NNNNNN, then the final model in out_dir.

    `on_checkpoint(step, model)` measures the model at each checkpoint (outside the training time)."""
    import torch

    if training.threads:
        torch.set_num_threads(training.threads)
    torch.manual_seed(seed)
    model = builder.new_llama(tokenizer, recipe.hidden, recipe.layers, recipe.head_dim, max_len)
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": matrices, "weight_decay": training.weight_decay},
            {"params": vectors, "weight_decay": 0.0},
        ],
        lr=recipe.lr,
        betas=(0.9, 0.95),
    )
    result = Trained(parameters=sum(p.numel() for p in model.parameters()), steps=recipe.steps)
    saves = checkpoint_steps(recipe.steps, training.checkpoints)
    losses: list[float] = []
    autocast = training.precision == "bfloat16"
    with atomic_path(out_dir) as tmp:
        for step in range(recipe.steps):
            begin = time.perf_counter()
            model.train()
            lr = learning_rate(step, recipe.steps, recipe.lr, training)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = encode(samples.batch(step, recipe.steps, recipe.batch_size), tokenizer, max_len)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = weighted_loss(model, batch, training.loss)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), training.clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            result.tokens += int(batch["attention_mask"].sum())
            result.trained_tokens += int((batch["labels"] != -100).sum())
            result.seconds += time.perf_counter() - begin
            done = step + 1
            if done % training.log_every == 0 or done == recipe.steps:
                point = {"step": done, "loss": sum(losses) / len(losses), "lr": lr, "tokens": result.tokens}
                result.curve.append(point)
                on_log(point)
                losses = []
            if done in saves:
                path = tmp / "checkpoints" / f"step-{done:06d}"
                builder.save_model(model, tokenizer, path)
                result.checkpoints.append((done, out_dir / path.relative_to(tmp)))
                if on_checkpoint is not None:
                    model.eval()
                    result.reading.append({"step": done, **on_checkpoint(done, model)})
        builder.save_model(model, tokenizer, tmp)
    return result
