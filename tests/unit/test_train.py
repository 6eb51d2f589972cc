"""The family's training loop on a micro model: labels, loss, schedule, checkpoints, determinism."""

import itertools
import math
from pathlib import Path

import pytest

from tasks.config import TrainRecipe
from tasks.hf import builder
from tasks.models.config import TrainingConfig
from tasks.models.train import (
    answer_loss,
    checkpoint_steps,
    encode,
    fresh_samples,
    learning_rate,
    train,
)
from tasks.world.config import WorldConfig

WORLD = WorldConfig()
TRAINING = TrainingConfig(checkpoints=2, log_every=5, bf16=False, vocab_size=300)
MICRO = TrainRecipe(hidden=64, layers=1, steps=10, lr=3e-3, batch_size=4)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    samples = fresh_samples(WORLD, TRAINING, seed=0, exclude=set())
    texts = ["".join(t for t, _ in next(samples)) for _ in range(50)]
    return builder.train_tokenizer(texts, TRAINING.vocab_size, tmp_path_factory.mktemp("tok"), max_len=512)


def samples(seed: int = 0):
    return fresh_samples(WORLD, TRAINING, seed=seed, exclude=set())


def test_tokenizer_is_byte_level_with_bos(tokenizer):
    text = "Zyxq Ωmega 1984\n"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text  # no unknown tokens, ever


def test_labels_cover_exactly_the_trained_segments(tokenizer):
    batch = [next(samples()) for _ in range(3)]
    encoded = encode(batch, tokenizer, max_len=4096)  # no truncation: the micro vocabulary is small
    for row, segments in enumerate(batch):
        labels = encoded["labels"][row]
        trained = tokenizer.decode([int(t) for t in labels if t != -100])
        assert trained == "".join(text for text, loss in segments if loss)
        assert int(encoded["attention_mask"][row].sum()) == len(
            tokenizer("".join(t for t, _ in segments))["input_ids"]
        )


def test_answer_loss_equals_the_hf_causal_lm_loss(tokenizer):
    import torch

    torch.manual_seed(0)
    model = builder.new_llama(tokenizer, hidden=64, layers=1, head_dim=64, max_len=512)
    batch = encode([next(samples()) for _ in range(2)], tokenizer, max_len=512)
    with torch.no_grad():
        assert float(answer_loss(model, batch)) == pytest.approx(float(model(**batch).loss), rel=1e-5)


def test_learning_rate_warms_up_then_decays_by_cosine_to_the_floor():
    config = TrainingConfig(warmup=0.1, final_lr=0.1)
    lrs = [learning_rate(step, 100, 1.0, config) for step in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0)
    middle = 10 + 45
    assert lrs[middle] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3)


def test_checkpoint_steps_are_spread_and_end_at_the_last_step():
    assert checkpoint_steps(100, 4) == [25, 50, 75, 100]
    assert checkpoint_steps(3, 4) == [1, 2, 3]
    assert checkpoint_steps(10, 0) == []


def test_training_saves_checkpoints_learns_and_repeats(tokenizer, tmp_path):
    first = train(MICRO, TRAINING, tokenizer, samples(), tmp_path / "a", 512, seed=0)
    assert [step for step, _ in first.checkpoints] == [5, 10]
    for step, path in first.checkpoints:
        assert path == tmp_path / "a" / "checkpoints" / f"step-{step:06d}"
        assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    assert (tmp_path / "a" / "config.json").is_file()
    assert first.curve[-1]["loss"] < first.curve[0]["loss"]
    assert first.trained_tokens < first.tokens
    again = train(MICRO, TRAINING, tokenizer, samples(), tmp_path / "b", 512, seed=0)
    assert [p["loss"] for p in again.curve] == [p["loss"] for p in first.curve]  # same params, same numbers
    other = train(MICRO, TRAINING, tokenizer, samples(seed=1), tmp_path / "c", 512, seed=1)
    assert [p["loss"] for p in other.curve] != [p["loss"] for p in first.curve]


def test_a_failed_run_leaves_nothing_behind(tokenizer, tmp_path):
    def broken():
        yield next(samples())
        raise RuntimeError("data source died")

    with pytest.raises(RuntimeError):
        train(
            MICRO.model_copy(update={"batch_size": 1}), TRAINING, tokenizer, broken(), tmp_path / "x", 512, 0
        )
    assert not (tmp_path / "x").exists() and list(Path(tmp_path).iterdir()) == []
