"""The checkpoint metrics and the entropy-performance law against their references: the paper
formulas written out directly, math.comb, numpy and scipy's curve_fit."""

import json
import math
from math import comb

import numpy as np
import polars as pl
import pytest
from scipy.optimize import curve_fit
from scipy.stats import entropy as scipy_entropy

from tasks.checkpoints import law, metrics, report, series
from tasks.checkpoints.config import CheckpointRef, CheckpointsConfig
from tasks.checkpoints.verifiers import VERIFIERS
from tasks.engines.entropy import topk_entropy
from tasks.errors import InfopipeError
from tasks.rl_run.config import RlRunConfig
from tasks.rl_run.grpo import reward_function


@pytest.mark.parametrize("n", [1, 4, 8, 16])
def test_pass_at_k_equals_the_combinatorial_definition(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert metrics.pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError, match="pass@k"):
        metrics.pass_at_k(4, 5, 1)
    with pytest.raises(ValueError, match="pass@k"):
        metrics.pass_at_k(4, 1, 5)


def test_window_entropy_is_the_forward_window_mean():
    rng = np.random.default_rng(0)
    h = rng.random(11).tolist()
    for w in (1, 3, 4, 20):
        expected = [float(np.mean(h[t : t + w])) for t in range(len(h))]
        assert metrics.window_entropy(h, w) == pytest.approx(expected)
    assert metrics.window_entropy([], 4) == []


def test_high_window_share_counts_tokens_above_the_cut():
    windows = [[0.1, 0.5, 0.9], [1.0]]
    assert metrics.high_window_share(windows, 0.5) == 0.5
    assert math.isnan(metrics.high_window_share([], 0.5))


def test_token_mean_weights_every_token_alike():
    assert metrics.token_mean([[1.0], [2.0, 2.0, 2.0]]) == pytest.approx(7 / 4)  # not (1 + 2) / 2
    assert math.isnan(metrics.token_mean([[], []]))


def test_epr_truncates_to_the_top_k_and_is_the_full_entropy_at_k_equal_v():
    rng = np.random.default_rng(1)
    steps = []
    for _ in range(5):
        p = rng.dirichlet(np.ones(30))
        steps.append({i: float(np.log(x)) for i, x in enumerate(p)})
    for k in (1, 5, 10):
        expected = np.mean([-sum(np.exp(v) * v for v in sorted(s.values(), reverse=True)[:k]) for s in steps])
        assert metrics.epr(steps, k) == pytest.approx(expected)
    full = np.mean([scipy_entropy(np.exp(list(s.values()))) for s in steps])
    assert metrics.epr(steps, 30) == pytest.approx(full)
    assert metrics.epr(steps, 30) == pytest.approx(
        np.mean([topk_entropy(list(s.values()))[0] for s in steps])
    )


def test_advantages_and_covariance_follow_the_token_level_definition():
    rewards, groups = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0], ["a", "a", "a", "b", "b", "b"]
    adv = metrics.advantages(rewards, groups)
    assert adv == pytest.approx([2 / 3, -1 / 3, -1 / 3, 0, 0, 0])
    logprobs = [[-0.1, -0.2], [-2.0], [-1.5, -0.5, -3.0], [-0.3], [-0.2], [-0.1, -0.4]]
    a = np.repeat(adv, [len(x) for x in logprobs])
    lp = np.concatenate(logprobs)
    assert metrics.covariance(logprobs, adv) == pytest.approx(np.cov(a, lp, bias=True)[0, 1])
    assert metrics.covariance(logprobs, adv) > 0  # the right answers are the likelier tokens


def test_law_fit_equals_scipy_curve_fit():
    rng = np.random.default_rng(0)
    h = np.linspace(0.2, 2.0, 9)
    r = -0.05 * np.exp(h) + 0.6 + rng.normal(scale=0.01, size=h.size)
    fit = law.fit(h.tolist(), r.tolist())
    (a, b), _ = curve_fit(lambda x, a, b: -a * np.exp(x) + b, h, r)
    assert (fit.a, fit.b) == pytest.approx((a, b), rel=1e-6)
    residual = r - (-a * np.exp(h) + b)
    assert fit.r2 == pytest.approx(1 - residual @ residual / np.sum((r - r.mean()) ** 2))
    assert fit.ceiling == pytest.approx(b - a)


def test_law_recovers_exact_parameters_and_extrapolates():
    h = [2.0, 1.7, 1.5, 1.2, 1.0, 0.8, 0.6]
    r = [-0.1 * math.exp(x) + 0.9 for x in h]
    fit = law.fit(h, r)
    assert (fit.a, fit.b, fit.r2) == pytest.approx((0.1, 0.9, 1.0))
    ex = law.extrapolate(h, r)
    assert ex["fit"]["points"] == 4 and ex["mean_absolute_error"] < 1e-9
    assert ex["predicted"] == pytest.approx(r[4:])


@pytest.mark.parametrize(
    ("h", "reason"), [([1.0], "1 checkpoint"), ([1.0, 0.5], "2 checkpoint"), ([1.0] * 4, "same entropy")]
)
def test_law_without_enough_points_is_a_reason_not_a_crash(h, reason):
    with pytest.raises(law.NoFit, match=reason):
        law.fit(h, [0.1] * len(h))


def _table(h, r):
    return pl.DataFrame({"step": list(range(0, 10 * len(h), 10)), "policy_entropy": h, "reward": r})


def test_fit_metrics_records_one_checkpoint_and_nan_rewards():
    one = report.fit_metrics(_table([1.0], [0.2]))
    assert one["law_r2"] is None and "at least 3" in one["no_fit"]
    nan = report.fit_metrics(_table([2.0, 1.5, 1.0, 0.5], [0.1, float("nan"), 0.3, 0.4]))
    assert nan["law_skipped"] == {"10": "reward is NaN"}
    assert nan["law_points"] == 3 and nan["law_r2"] is not None


def test_headline_needs_falling_entropy_rising_reward_and_r2():
    rising = _table([2.0, 1.5, 1.0, 0.5], [0.1, 0.2, 0.3, 0.5])
    assert report.headline(rising, 0.9)["headline_met"]
    assert not report.headline(rising, 0.5)["headline_met"]
    assert not report.headline(_table([0.5, 1.0, 1.5, 2.0], [0.1, 0.2, 0.3, 0.5]), 0.9)["headline_met"]


def test_verifiers_read_the_first_line():
    assert VERIFIERS.get("exact_match")(" Bara Tinth\nQuestion: who", "Bara Tinth") == 1.0
    assert VERIFIERS.get("exact_match")("Bara", "Bara Tinth") == 0.0
    assert VERIFIERS.get("f1")("Bara", "Bara Tinth") == pytest.approx(2 / 3)


def test_grpo_reward_passes_nan_as_none_for_trl():
    reward = reward_function(lambda text, answer: float("nan") if answer == "?" else float(text == answer))
    assert reward(["x", "y", "z"], answer=["x", "q", "?"]) == [1.0, 0.0, None]


def _checkpoint(folder, tokenizer="abc", state=None):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"vocab_size": 7}))
    (folder / "tokenizer.json").write_text(tokenizer)
    if state is not None:
        (folder / "trainer_state.json").write_text(json.dumps(state))
    return folder


def test_series_orders_by_step_from_names_and_trainer_state(tmp_path):
    _checkpoint(tmp_path / "checkpoint-20")
    _checkpoint(tmp_path / "checkpoint-3")
    _checkpoint(tmp_path / "final", state={"global_step": 40})
    (tmp_path / "logs").mkdir()  # not a checkpoint: no config.json
    found = series.discover(CheckpointsConfig(series=str(tmp_path)))
    assert [c.step for c in found] == [3, 20, 40]
    assert series.vocab_size(found[0]) == 7


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda d: None, "holds no checkpoint"),
        (lambda d: _checkpoint(d / "final"), "missing step number"),
        (lambda d: (_checkpoint(d / "a-1"), _checkpoint(d / "b-1")), "has step 1"),
        (lambda d: (_checkpoint(d / "c-1"), _checkpoint(d / "c-2", tokenizer="xyz")), "different tokenizer"),
        (lambda d: _checkpoint(d / "x", state={"step": 1}), "no integer global_step"),
    ],
)
def test_bad_series_is_a_one_line_error(tmp_path, build, fragment):
    build(tmp_path)
    with pytest.raises(InfopipeError, match=fragment) as err:
        series.discover(CheckpointsConfig(series=str(tmp_path)))
    assert "\n" not in str(err.value)


def test_missing_directory_and_listed_non_model_are_errors(tmp_path):
    with pytest.raises(InfopipeError, match="does not exist"):
        series.discover(CheckpointsConfig(series=str(tmp_path / "nope")))
    with pytest.raises(InfopipeError, match="no config"):
        series.discover(CheckpointsConfig(checkpoints=[CheckpointRef(path=str(tmp_path), step=1)]))


@pytest.mark.parametrize(
    ("cls", "fields", "fragment"),
    [
        (CheckpointsConfig, {"pass_k": [16], "samples": 8}, "pass_k: 16 exceeds samples 8"),
        (CheckpointsConfig, {"verifier": "regex"}, "unknown verifier .regex."),
        (CheckpointsConfig, {"kinds": ["weather"]}, "kinds: unknown question kind"),
        (CheckpointsConfig, {"series": None}, "series: give a directory"),
        (RlRunConfig, {"save_every": 100, "steps": 10}, "save_every: 100 exceeds steps"),
        (RlRunConfig, {"reward": "bleu"}, "unknown verifier .bleu."),
    ],
)
def test_configs_reject_bad_values(cls, fields, fragment):
    with pytest.raises(ValueError, match=fragment):
        cls(**fields)


def test_checkpoint_row_from_rollouts():
    config = CheckpointsConfig(samples=2, pass_k=[1, 2], hwe_window=2)
    rollouts = pl.DataFrame(
        {
            "step": [5, 5, 5, 5],
            "item_id": ["a", "a", "b", "b"],
            "reward": [1.0, 0.0, 0.0, 0.0],
            "tokens": [2, 1, 3, 2],
            "entropy": [[1.0, 0.5], [2.0], [0.1, 0.2, 0.3], [1.5, 0.5]],
            "tail_mass": [[0.0, 0.0], [0.0], [0.0, 0.0, 0.0], [1e-6, 0.0]],
            "logprobs": [[-0.1, -0.2], [-2.0], [-1.0, -1.0, -1.0], [-0.5, -0.5]],
            "epr": [0.7, 1.9, 0.2, 0.9],
        }
    )
    row = report.checkpoint_row(rollouts, config, cut=0.9)
    assert row["step"] == 5 and row["reward"] == 0.25 and row["response_length"] == 2.0
    assert row["policy_entropy"] == pytest.approx(6.1 / 8)
    assert row["pass_at_1"] == pytest.approx(0.25) and row["pass_at_2"] == pytest.approx(0.5)
    # windows: [0.75, 0.5], [2.0], [0.15, 0.25, 0.3], [1.0, 0.5] -> 2 of 8 above 0.9
    assert row["hwe_share"] == pytest.approx(2 / 8)
    assert row["epr"] == pytest.approx(0.925) and row["max_tail_mass"] == pytest.approx(1e-6)
    nan = report.checkpoint_row(
        rollouts.with_columns(reward=pl.Series([1.0, float("nan"), 0.0, 0.0])), config, 0.9
    )
    assert math.isnan(nan["reward"]) and nan["nan_rewards"] == 1 and "pass_at_1" not in nan


def test_reward_rise_is_paired_over_prompts_with_a_ci():
    from tasks.checkpoints.report import reward_rise

    rows = [
        {"step": step, "item_id": f"q{i}", "sample": s, "reward": float(step == 10 and i % 2 == 0)}
        for step in (0, 10)
        for i in range(20)
        for s in range(2)
    ]
    rise = reward_rise(pl.DataFrame(rows), 0, 10)
    assert rise["reward_rise"] == pytest.approx(0.5)
    low, high = rise["reward_rise_ci95"]
    assert 0 < low < 0.5 < high <= 1 and rise["reward_rise_beyond_ci"]
    flat = reward_rise(pl.DataFrame([{**r, "reward": 0.5} for r in rows]), 0, 10)
    assert flat["reward_rise"] == 0 and not flat["reward_rise_beyond_ci"]


def test_early_entropy_drop_share_interpolates_at_a_quarter_of_the_steps():
    from tasks.checkpoints.report import early_entropy_drop_share

    # 4.0 -> 2.0 over 100 steps; at step 25 (between checkpoints 0 and 50) the entropy is 3.0.
    assert early_entropy_drop_share([0, 50, 100], [4.0, 2.0, 2.0]) == pytest.approx(0.5)
    assert early_entropy_drop_share([0, 100], [4.0, 2.0]) == pytest.approx(0.25)
    assert early_entropy_drop_share([0, 100], [2.0, 3.0]) is None  # no drop: nothing to share


def test_reward_rise_does_not_depend_on_row_order():
    from tasks.checkpoints.report import reward_rise

    rng = np.random.default_rng(0)
    rows = pl.DataFrame(
        [
            {
                "step": step,
                "item_id": f"q{i:02d}",
                "sample": 0,
                "reward": float(rng.random() < 0.3 + step / 100),
            }
            for step in (0, 10)
            for i in range(40)
        ]
    )
    assert reward_rise(rows, 0, 10) == reward_rise(rows.sample(fraction=1.0, shuffle=True, seed=1), 0, 10)
