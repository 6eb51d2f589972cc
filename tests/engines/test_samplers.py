"""The samplers inside real engines on SmolLM2-135M-Instruct: vLLM's draws follow the
processor's distribution (chi-square), and the stateful ones see the tokens they drew."""

import pytest
import torch
from scipy.stats import chisquare

from tasks.samplers import SamplerSetting, SamplingConfig, build, process

from ..unit.test_samplers import REFERENCES

PROMPT = "The best thing about a long weekend is"
DRAWS = 1500  # vLLM on two cores: ~10 ms a request, so ~20 s a setting
SLOW = pytest.mark.slow
# ~45-90 s each on two cores: all in `make test-slow` (the default run checks every processor
# against transformers' warpers and oracles, and the stateful ones inside vLLM).
SETTINGS = [
    pytest.param(SamplerSetting(name="typical", args={"tau": 0.5}), marks=SLOW),
    pytest.param(
        SamplerSetting(name="top_h", args={"alpha": 0.4}, temperature=2.0, order="truncation_first"),
        marks=SLOW,
    ),
    pytest.param(SamplerSetting(name="mirostat_v1", args={"tau": 4.0}), marks=SLOW),
    pytest.param(SamplerSetting(name="min_p", args={"p": 0.1}, temperature=1.5), marks=SLOW),
    pytest.param(SamplerSetting(name="temperature", temperature=1.5), marks=SLOW),
    pytest.param(SamplerSetting(name="top_k", args={"k": 8}), marks=SLOW),
    pytest.param(SamplerSetting(name="top_p", args={"p": 0.8}), marks=SLOW),
    pytest.param(SamplerSetting(name="top_h", args={"alpha": 0.4}, temperature=2.0), marks=SLOW),
    pytest.param(SamplerSetting(name="mirostat_v2", args={"tau": 4.0}), marks=SLOW),
]


@pytest.fixture(scope="module")
def prompt_ids(hf_engine):
    return hf_engine.tokenizer(PROMPT)["input_ids"]


@pytest.mark.parametrize(("name", "args", "reference"), REFERENCES, ids=lambda x: str(x))
def test_equals_transformers_warpers_on_real_logits(name, args, reference, hf_engine, prompt_ids):
    # Every next-token distribution along a real sentence, all 49k tokens of the vocabulary.
    scores = hf_engine.logits(prompt_ids + hf_engine.tokenizer(" to sleep late and read.")["input_ids"])
    setting = SamplerSetting(name=name, args=args)
    ours = build(setting).warp(scores.clone(), [None] * scores.shape[0])
    theirs = reference(None, scores.clone())
    assert torch.equal(ours == float("-inf"), theirs == float("-inf"))
    kept = ours != float("-inf")
    assert torch.allclose(ours[kept], theirs[kept], atol=1e-6)


def distribution(setting: SamplerSetting, logits: torch.Tensor) -> torch.Tensor:
    sampler = build(setting)
    return process(logits.unsqueeze(0), sampler, setting, [sampler.new_state()])[0].softmax(-1)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s.label}-{s.order}")
def test_vllm_draws_follow_the_processor(setting, vllm_engine, hf_engine, prompt_ids):
    expected = distribution(setting, hf_engine.logits(prompt_ids)[-1])
    sampling = SamplingConfig(max_tokens=1, logprobs=0, entropy=False, sampler=setting)
    drawn = vllm_engine.generate_ids([prompt_ids] * DRAWS, sampling, seeds=range(DRAWS))
    counts = torch.bincount(torch.tensor([g.token_ids[0] for g in drawn]), minlength=expected.numel())
    assert counts[expected == 0].sum() == 0  # nothing outside the kept set
    big = expected * DRAWS >= 5  # pool the rare tokens into one bin
    observed = [*counts[big].tolist(), int(counts[~big].sum())]
    wanted = [*(expected[big] * DRAWS).tolist(), float(expected[~big].sum() * DRAWS)]
    if wanted[-1] == 0:
        observed, wanted = observed[:-1], wanted[:-1]
    assert len(observed) >= 3  # a distribution worth testing, not one token
    wanted = [w * sum(observed) / sum(wanted) for w in wanted]
    assert chisquare(observed, wanted).pvalue > 1e-3


def replay(setting: SamplerSetting, logits: torch.Tensor, tokens: list[int]) -> list[bool]:
    """Run the sampler over the generation's own steps: was each drawn token in the kept set?"""
    sampler = build(setting)
    state = sampler.new_state()
    inside = []
    for step, token in zip(logits, tokens, strict=True):
        out = process(step.unsqueeze(0), sampler, setting, [state])[0]
        inside.append(bool(out[token] > float("-inf")))
        sampler.observe(state, token)
    return inside


@pytest.mark.parametrize("backend", ["vllm_engine", "hf_engine"])
@pytest.mark.parametrize("name", ["mirostat_v1", "mirostat_v2"])
def test_stateful_sampler_sees_each_drawn_token(backend, name, request, hf_engine, prompt_ids):
    engine = request.getfixturevalue(backend)
    setting = SamplerSetting(name=name, args={"tau": 2.5, "eta": 0.5})
    sampling = SamplingConfig(max_tokens=24, logprobs=0, entropy=False, ignore_eos=True, sampler=setting)
    for g in engine.generate_ids([prompt_ids] * 3, sampling, seeds=[1, 2, 3]):
        steps = hf_engine.logits(prompt_ids + g.token_ids)[len(prompt_ids) - 1 : -1]
        inside = replay(setting, steps, g.token_ids)
        assert sum(inside) >= len(inside) - 1, inside  # one borderline step of float noise at most


ARTICLES = [
    "Texaco Canada said it lowered the contract price it will pay for crude oil by 64 cents a barrel.",
    "The company said the reduction brings its posted price for West Texas Intermediate to 17.50 dlrs.",
]


def in_order_subset(output: list[str], source: list[str]) -> bool:
    it = iter(source)
    return all(any(word == w for w in it) for word in output)


@pytest.mark.parametrize("backend", ["vllm_engine", "hf_engine"])
def test_extractive_outputs_are_in_order_subsets_of_their_own_articles(backend, request):
    """Per-request sampler arguments in one batch: each request copies only its own article's
    words, in order, at most its budget; vLLM writes what transformers writes (greedy, fp32)."""
    engine = request.getfixturevalue(backend)
    prompts, samplings, budgets = [], [], []
    for article in ARTICLES:
        words = article.split()
        ids = [engine.tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in words]
        budgets.append(len(words) // 2)
        setting = SamplerSetting(
            name="extractive",
            args={"words": ids, "budget": budgets[-1], "eos": [engine.tokenizer.eos_token_id]},
        )
        samplings.append(SamplingConfig(max_tokens=48, logprobs=0, entropy=False, sampler=setting))
        prompts.append(f"Compress the text by deleting words.\nText: {article}\nCompressed:")
    gens = engine.generate_each(prompts, samplings)
    for gen, article, budget in zip(gens, ARTICLES, budgets, strict=True):
        words = gen.text.split()
        assert 0 < len(words) <= budget and in_order_subset(words, article.split()), gen.text
    if backend == "vllm_engine":
        reference = request.getfixturevalue("hf_engine").generate_each(prompts, samplings)
        assert [g.token_ids for g in gens] == [g.token_ids for g in reference]
