"""The family's training loop on a micro model: labels, loss, schedule, checkpoints, determinism."""

import itertools
import math
from pathlib import Path

import pytest

from tasks.config import TrainRecipe
from tasks.hf import builder
from tasks.models.config import LossWeights, Phase, TrainingConfig
from tasks.models.family import member_seed
from tasks.models.train import (
    Curriculum,
    checkpoint_steps,
    encode,
    fresh_samples,
    learning_rate,
    phase_ends,
    train,
    weighted_loss,
)
from tasks.world.config import WorldConfig

WORLD = WorldConfig()
TRAINING = TrainingConfig(checkpoints=2, log_every=5, vocab_size=300)
MICRO = TrainRecipe(hidden=64, layers=1, steps=10, lr=3e-3, batch_size=4)
READING = Phase(share=1.0, blocks={"answer": 8})


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    stream = fresh_samples(WORLD, TRAINING.phases[-1], seed=0, exclude=set())
    texts = ["".join(t for t, _ in next(stream)) for _ in range(50)]
    return builder.train_tokenizer(texts, TRAINING.vocab_size, tmp_path_factory.mktemp("tok"), max_len=512)


def samples(seed: int = 0):
    return fresh_samples(WORLD, TRAINING.phases[-1], seed=seed, exclude=set())


def curriculum(seed: int = 0, training: TrainingConfig = TRAINING) -> Curriculum:
    return Curriculum(WORLD, training, seed, exclude=set())


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


@pytest.fixture(scope="module")
def micro_model(tokenizer):
    import torch

    torch.manual_seed(0)
    return builder.new_llama(tokenizer, hidden=64, layers=1, head_dim=64, max_len=512)


def hf_loss(model, batch, labels):
    import torch

    with torch.no_grad():
        return float(
            model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).loss
        )


# Tolerance: the same cross-entropy summed in another order (transformers' loss vs ours), fp32.
REL = 1e-5


def test_target_loss_equals_the_hf_causal_lm_loss_on_the_labels(tokenizer, micro_model):
    import torch

    batch = encode([next(samples()) for _ in range(2)], tokenizer, max_len=512)
    with torch.no_grad():
        ours = float(weighted_loss(micro_model, batch, LossWeights(tokens=0.0, targets=1.0)))
    assert ours == pytest.approx(hf_loss(micro_model, batch, batch["labels"]), rel=REL)


def test_token_loss_is_plain_language_modelling_and_the_weights_add(tokenizer, micro_model):
    import torch

    batch = encode([next(samples()) for _ in range(2)], tokenizer, max_len=512)
    every = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)  # padding carries none
    lm, targets = hf_loss(micro_model, batch, every), hf_loss(micro_model, batch, batch["labels"])
    with torch.no_grad():
        only_lm = float(weighted_loss(micro_model, batch, LossWeights(tokens=1.0, targets=0.0)))
        both = float(weighted_loss(micro_model, batch, LossWeights(tokens=0.5, targets=2.0)))
    assert only_lm == pytest.approx(lm, rel=REL)
    assert both == pytest.approx(0.5 * lm + 2.0 * targets, rel=REL)


def test_phases_switch_at_their_share_of_the_steps():
    training = TrainingConfig(
        phases=[
            Phase(share=0.3, blocks={"answer": 8}, distractors=0, boilerplate=False),
            Phase(share=0.7, blocks={"entities": 1}),
        ]
    )
    assert phase_ends(training, 10) == [3, 10]
    stream = curriculum(training=training)
    short = stream.batch(2, 10, 2)
    assert all(len([t for t, loss in s if loss]) == 8 for s in short)  # every question, nothing else
    assert not any(d in short[0][0][0] for d in ("Analysts", "Company profile", "This profile"))
    later = stream.batch(3, 10, 2)
    assert all(len([t for t, loss in s if loss]) == 1 for s in later)  # the entity list only


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
    first = train(MICRO, TRAINING, tokenizer, curriculum(), tmp_path / "a", 512, seed=0)
    assert [step for step, _ in first.checkpoints] == [5, 10]
    for step, path in first.checkpoints:
        assert path == tmp_path / "a" / "checkpoints" / f"step-{step:06d}"
        assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    assert (tmp_path / "a" / "config.json").is_file()
    assert first.curve[-1]["loss"] < first.curve[0]["loss"]
    assert first.trained_tokens < first.tokens
    again = train(MICRO, TRAINING, tokenizer, curriculum(), tmp_path / "b", 512, seed=0)
    assert [p["loss"] for p in again.curve] == [p["loss"] for p in first.curve]  # same params, same numbers
    weights = "model.safetensors"
    assert (tmp_path / "a" / weights).read_bytes() == (tmp_path / "b" / weights).read_bytes()
    other = train(MICRO, TRAINING, tokenizer, curriculum(seed=1), tmp_path / "c", 512, seed=1)
    assert [p["loss"] for p in other.curve] != [p["loss"] for p in first.curve]


def test_each_checkpoint_is_measured_outside_the_training_time(tokenizer, tmp_path):
    seen = []

    def measure(step, model):
        seen.append((step, model.training))
        return {"single_hop": step / 10}

    result = train(MICRO, TRAINING, tokenizer, curriculum(), tmp_path / "m", 512, 0, on_checkpoint=measure)
    assert seen == [(5, False), (10, False)]  # in eval mode
    assert result.reading == [{"step": 5, "single_hop": 0.5}, {"step": 10, "single_hop": 1.0}]


def test_a_failed_run_leaves_nothing_behind(tokenizer, tmp_path):
    class Broken:
        calls = 0

        def batch(self, step, steps, size):
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("data source died")
            return [next(samples())]

    with pytest.raises(RuntimeError):
        train(
            MICRO.model_copy(update={"batch_size": 1}), TRAINING, tokenizer, Broken(), tmp_path / "x", 512, 0
        )
    assert not (tmp_path / "x").exists() and list(Path(tmp_path).iterdir()) == []


def test_a_members_seed_comes_from_its_name_not_its_place():
    assert member_seed(TRAINING, "world-m") == member_seed(TrainingConfig(), "world-m")
    assert member_seed(TRAINING, "world-m") != member_seed(TRAINING, "world-l")
    assert member_seed(TrainingConfig(seed=5), "world-m") == member_seed(TRAINING, "world-m") + 5
