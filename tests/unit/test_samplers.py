"""Samplers against their references: transformers' warpers, the papers' algorithms written
here as plain step-by-step oracles, and the bad-input rules."""

import math

import pytest
import torch
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    TopHLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from tasks.errors import InfopipeError
from tasks.params import load_params
from tasks.samplers import SAMPLERS, SamplerSetting, SamplingConfig, build, process
from tasks.samplers.ead import Switch

from ..conftest import ROOT

NEG = float("-inf")


def random_logits(rows: int = 6, vocab: int = 500, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # Mixed scales: peaked and flat rows, as real next-token distributions are.
    scale = torch.tensor([0.5, 1.0, 2.0, 4.0, 8.0, 1.5])[:rows].unsqueeze(1)
    return torch.randn(rows, vocab, generator=g) * scale


def warp(name: str, scores: torch.Tensor, **args) -> torch.Tensor:
    sampler = build(SamplerSetting(name=name, args=args))
    return sampler.warp(scores.clone(), [sampler.new_state() for _ in range(scores.shape[0])])


def same_mask(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    assert torch.equal(ours == NEG, theirs == NEG)
    kept = ours != NEG
    assert torch.allclose(ours[kept], theirs[kept], atol=1e-6)


REFERENCES = [
    ("top_k", {"k": 1}, TopKLogitsWarper(top_k=1)),
    ("top_k", {"k": 40}, TopKLogitsWarper(top_k=40)),
    ("top_p", {"p": 0.5}, TopPLogitsWarper(top_p=0.5)),
    ("top_p", {"p": 0.95}, TopPLogitsWarper(top_p=0.95)),
    ("min_p", {"p": 0.05}, MinPLogitsWarper(min_p=0.05)),
    ("min_p", {"p": 0.3}, MinPLogitsWarper(min_p=0.3)),
    ("typical", {"tau": 0.2}, TypicalLogitsWarper(mass=0.2)),
    ("typical", {"tau": 0.9}, TypicalLogitsWarper(mass=0.9)),
    ("top_h", {"alpha": 0.4}, TopHLogitsWarper(top_h=0.4)),
    ("top_h", {"alpha": 0.9}, TopHLogitsWarper(top_h=0.9)),
]


@pytest.mark.parametrize(("name", "args", "reference"), REFERENCES, ids=lambda x: str(x))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_transformers_warper(name, args, reference, seed):
    scores = random_logits(seed=seed)
    same_mask(warp(name, scores, **args), reference(None, scores.clone()))


def test_typical_can_drop_the_most_likely_token():
    # One token far more predictable than the rest (H is near the others' surprisal): the
    # tokens kept are those whose surprisal is close to H, and the argmax is not one of them.
    scores = torch.tensor([[3.0] + [0.0] * 1000])
    out = warp("typical", scores, tau=0.2)
    assert out[0, 0] == NEG
    assert out[0, 1:].isfinite().any()


def top_h_oracle(scores: torch.Tensor, alpha: float, candidates: int, renormalise: bool) -> torch.Tensor:
    """Top-H's greedy rule, one row at a time as the authors' batch-1 code: walk the tokens by
    probability, keep each while the running sum of -p log p stays within alpha times the sum
    over all candidates; the first always stays."""
    out = torch.full_like(scores, NEG)
    for r in range(scores.shape[0]):
        p = scores[r].double().softmax(-1)
        order = p.argsort(descending=True)[:candidates].tolist()
        q = [p[i].item() for i in order]
        if renormalise:
            q = [x / sum(q) for x in q]
        budget = alpha * -sum(x * math.log(x) for x in q if x > 0)
        running = 0.0
        for rank, (i, x) in enumerate(zip(order, q, strict=True)):
            running += -x * math.log(x) if x > 0 else 0.0
            if rank > 0 and running > budget + 1e-9:
                break
            out[r, i] = scores[r, i]
    return out


@pytest.mark.parametrize("renormalise", [True, False])
@pytest.mark.parametrize("alpha", [0.2, 0.5, 1.0])
def test_top_h_equals_greedy_oracle(renormalise, alpha):
    for seed in range(3):
        scores = random_logits(seed=seed)
        ours = warp("top_h", scores, alpha=alpha, candidates=100, renormalise=renormalise)
        same_mask(ours, top_h_oracle(scores, alpha, 100, renormalise))


def zipf_k(probs: list[float], mu: float, m: int, vocab: int) -> int:
    """Mirostat's k (paper, Algorithm 1), scalar arithmetic."""
    num = sum(math.log((i + 1) / i) * math.log(probs[i - 1] / probs[i]) for i in range(1, m))
    den = sum(math.log((i + 1) / i) ** 2 for i in range(1, m))
    s = num / den
    eps = s - 1
    k = ((eps * 2**mu) / (1 - vocab ** (-eps))) ** (1 / s)
    return max(1, min(vocab, round(k)))


def mirostat_oracle(steps: list[torch.Tensor], tokens: list[int], tau: float, eta: float, version: int):
    """The kept sets and the mu trajectory, step by step, for the tokens drawn."""
    mu, kept, mus = 2 * tau, [], []
    for scores, token in zip(steps, tokens, strict=True):
        p = scores.double().softmax(-1)
        order = p.argsort(descending=True)
        if version == 1:
            k = zipf_k(p[order].tolist(), mu, 100, p.numel())
            keep = set(order[:k].tolist())
            surprise = -math.log2(p[token].item())
        else:
            keep = {i for i in range(p.numel()) if -math.log2(p[i].item()) <= mu} | {int(order[0])}
            surprise = -math.log2(p[token].item() / sum(p[i].item() for i in keep))
        kept.append(keep)
        mu -= eta * (surprise - tau)
        mus.append(mu)
    return kept, mus


@pytest.mark.parametrize("version", [1, 2])
def test_mirostat_follows_the_paper_step_by_step(version):
    g = torch.Generator().manual_seed(version)
    sampler = build(SamplerSetting(name=f"mirostat_v{version}", args={"tau": 3.0, "eta": 0.3}))
    state = sampler.new_state()
    steps, tokens, kept = [], [], []
    for t in range(40):
        scores = torch.randn(1, 300, generator=g) * (1.0 + 3.0 * (t % 3))
        out = sampler.warp(scores.clone(), [state])
        token = int(torch.multinomial(out.softmax(-1)[0], 1, generator=g))
        sampler.observe(state, token)
        steps.append(scores[0])
        tokens.append(token)
        kept.append((set((out[0] != NEG).nonzero().flatten().tolist()), state.mu))
    oracle_kept, oracle_mu = mirostat_oracle(steps, tokens, 3.0, 0.3, version)
    for (ours, mu), theirs, mu_ref in zip(kept, oracle_kept, oracle_mu, strict=True):
        assert ours == theirs
        assert mu == pytest.approx(mu_ref, abs=1e-4)
    assert len({len(k) for k, _ in kept}) > 3  # k moved with mu and the distribution


def test_mirostat_state_is_per_sequence():
    sampler = build(SamplerSetting(name="mirostat_v2", args={"tau": 2.0}))
    a, b = sampler.new_state(), sampler.new_state()
    scores = random_logits(rows=2, seed=3)
    sampler.warp(scores, [a, b])
    sampler.observe(a, int(scores[0].argmax()))
    assert a.mu != b.mu == 4.0


def switch_oracle(entropies: list[float], threshold: float, window: int) -> list[str]:
    model, out = "small", []
    for t in range(len(entropies)):
        recent = entropies[max(0, t - window + 1) : t + 1]
        model = "large" if sum(recent) / len(recent) > threshold else "small"
        out.append(model)
    return out


def test_ead_switches_where_the_rolling_entropy_crosses():
    g = torch.Generator().manual_seed(0)
    entropies = (torch.rand(200, generator=g) * 4).tolist()
    switch = Switch(threshold=2.0, window=5)
    ours = [switch.step(h) for h in entropies]
    assert ours == switch_oracle(entropies, 2.0, 5)
    assert 10 < ours.count("large") < 190


def test_ead_min_stay_holds_the_model():
    switch = Switch(threshold=1.0, window=1, min_stay=3)
    models = [switch.step(h) for h in [2, 0, 0, 0, 0, 2, 2]]
    # The first switch is free; after it each model holds 3 tokens before handing over.
    assert models == ["large", "large", "large", "small", "small", "small", "large"]


@pytest.mark.parametrize("order", ["temperature_first", "truncation_first"])
def test_temperature_and_truncation_order(order):
    scores = random_logits(rows=2, seed=4)
    setting = SamplerSetting(name="top_p", args={"p": 0.7}, temperature=2.0, order=order)
    out = process(scores, build(setting), setting, [None, None])
    reference = TopPLogitsWarper(top_p=0.7)
    if order == "temperature_first":
        expected = reference(None, scores / 2.0)
    else:
        expected = (scores / 2.0).masked_fill(reference(None, scores.clone()) == NEG, NEG)
    same_mask(out, expected)
    other = "truncation_first" if order == "temperature_first" else "temperature_first"
    swapped = SamplerSetting(name="top_p", args={"p": 0.7}, temperature=2.0, order=other)
    assert not torch.equal(out == NEG, process(scores, build(swapped), swapped, [None, None]) == NEG)


def test_greedy_keeps_the_argmax_only():
    scores = random_logits(seed=5)
    out = warp("greedy", scores)
    assert ((out != NEG).sum(-1) == 1).all()
    assert torch.equal(out.argmax(-1), scores.argmax(-1))


def test_every_sampler_keeps_at_least_one_token():
    scores = random_logits(seed=6)
    defaults = {
        "top_k": {"k": 3},
        "top_p": {"p": 0.01},
        "min_p": {"p": 1.0},
        "typical": {"tau": 0.01},
        "mirostat_v1": {"tau": 0.1},
        "mirostat_v2": {"tau": 0.1},
        "top_h": {"alpha": 0.01},
        "ead": {"large": "m", "threshold": 1.0},
        "extractive": {"words": [[3], [4, 5]], "budget": 1, "eos": [0]},
    }
    for name in SAMPLERS:
        out = warp(name, scores, **defaults.get(name, {}))
        assert ((out != NEG).sum(-1) >= 1).all(), name


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"name": "typical", "args": {"tau": 1.5}}, "tau"),
        ({"name": "typical", "args": {"tau": 0.0}}, "tau"),
        ({"name": "temperature", "temperature": -0.5}, "temperature"),
        ({"name": "top_k", "args": {"k": 0}}, "k"),
        ({"name": "top_h", "args": {"alpha": 1.2}}, "alpha"),
        ({"name": "top_h", "args": {"alpha": 0.0}}, "alpha"),
        ({"name": "ead", "args": {"threshold": 2.0}}, "large model"),
        ({"name": "typicl"}, "did you mean 'typical'"),
        ({"name": "top_p", "args": {"p": 0.5, "q": 0.5}}, "q: unknown argument"),
    ],
)
def test_bad_settings_fail_before_any_model_loads(setting, message):
    with pytest.raises(InfopipeError) as err:
        load_params(ROOT / "params.yaml", [f"decoding.settings=[{setting!r}]".replace("'", '"')])
    assert message in str(err.value)
    assert "decoding.settings.0" in str(err.value)
    assert "\n" not in str(err.value)


def test_sampler_owns_temperature_and_truncation():
    with pytest.raises(ValueError, match="top_p: set it in the sampler"):
        SamplingConfig(top_p=0.9, sampler=SamplerSetting(name="typical", args={"tau": 0.9}))
    assert SamplingConfig(sampler=SamplerSetting(name="greedy")).greedy


# -- extractive-constrained decoding -------------------------------------------------------------


def subsequence_oracle(
    words: list[list[int]], budget: int, minimum: int, eos: int, prefix: list[int]
) -> set[int]:
    """Every next token some in-order choice of `minimum` to `budget` words allows after `prefix`
    (the end token where the prefix is such a choice), by enumerating all choices."""
    allowed = set()
    for mask in range(1 << len(words)):
        chosen = [w for i, w in enumerate(words) if mask >> i & 1]
        if not min(minimum, budget, len(words)) <= len(chosen) <= budget:
            continue
        tokens = [t for w in chosen for t in w]
        if tokens[: len(prefix)] != prefix:
            continue
        allowed.add(tokens[len(prefix)] if len(tokens) > len(prefix) else eos)
    return allowed


@pytest.mark.parametrize("seed", range(6))
def test_extractive_allows_exactly_the_in_order_subsequences_of_the_words(seed):
    import random

    rng = random.Random(seed)
    # Few distinct tokens, so words share prefixes and repeat, as real words do.
    words = [[rng.randint(1, 4) for _ in range(rng.randint(1, 3))] for _ in range(7)]
    budget, minimum, eos = rng.randint(1, 5), rng.randint(0, 6), 0
    args = {"words": words, "budget": budget, "minimum": minimum, "eos": [eos]}
    sampler = build(SamplerSetting(name="extractive", args=args))
    for _ in range(20):  # random walks through the allowed tokens
        state, prefix = sampler.new_state(), []
        while True:
            allowed = sampler.allowed(state)
            assert allowed == subsequence_oracle(words, budget, minimum, eos, prefix), (args, prefix)
            token = rng.choice(sorted(allowed))
            if token == eos:
                break
            sampler.observe(state, token)
            prefix.append(token)


def test_extractive_keeps_the_most_likely_allowed_token_or_all_of_them():
    args = {"words": [[5, 6], [7], [5, 8]], "budget": 2, "eos": [0]}
    scores = torch.arange(10, dtype=torch.float32).repeat(2, 1)  # 9 is the most likely
    greedy = warp("extractive", scores, **args)
    assert (greedy != NEG).sum(-1).tolist() == [1, 1] and greedy[0, 7] == 7.0
    free = warp("extractive", scores, **args, greedy=False)
    assert [i for i in range(10) if free[0, i] != NEG] == [5, 7]  # no end before the first word
    free = warp("extractive", scores, **args, greedy=False, minimum=0)
    assert [i for i in range(10) if free[0, i] != NEG] == [0, 5, 7]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"words": [], "budget": 1, "eos": [0]}, "words"),
        ({"words": [[1]], "budget": 0, "eos": [0]}, "budget"),
        ({"words": [[1]], "budget": 1, "eos": []}, "eos"),
        ({"words": [[1], []], "budget": 1, "eos": [0]}, "words"),
    ],
)
def test_extractive_bad_arguments_name_their_field(args, field):
    with pytest.raises(ValueError, match=f"sampler extractive: {field}"):
        SamplerSetting(name="extractive", args=args)
