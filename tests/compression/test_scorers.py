"""Selective-Context and LLMLingua-1 through the engine: self-information equals a direct
transformers computation, and both compressors meet their rates on real vLLM."""

import pytest
import torch

from tasks.compression import Budget
from tasks.compression.llmlingua1 import LLMLingua1
from tasks.compression.selective_context import SelectiveContext, token_surprisal, word_scores
from tasks.compression.words import split
from tasks.engines import open_engine
from tasks.hf import loader
from tasks.params import load_params

from ..conftest import MODEL, ROOT

TEXT = (
    "Company profile. Nanur Zugosa started Gisurk Dynamics in 1963. The company did not respond to "
    "requests for comment. Gisurk Dynamics manufactures the Zaran Air. This profile is provided for "
    "information only."
)


@pytest.fixture(scope="module")
def hf_params(model_overrides):
    return load_params(ROOT / "params.yaml", [*model_overrides, "engine.backend=hf"])


def test_self_information_equals_a_direct_transformers_computation(hf_params):
    engine = open_engine(hf_params, MODEL)
    ((surprisal, offsets),) = token_surprisal(engine, [TEXT], engine.tokenizer.bos_token_id)
    model = loader.load_causal_lm(engine.source, engine.spec)
    tok = engine.tokenizer
    ids = [tok.bos_token_id, *tok(TEXT, add_special_tokens=False)["input_ids"]]
    with torch.inference_mode():
        logp = model(torch.tensor([ids])).logits[0, :-1].float().log_softmax(-1)
    direct = [-logp[i, t].item() for i, t in enumerate(ids[1:])]
    assert surprisal == pytest.approx(direct, abs=1e-4)
    words = split(TEXT)
    scores = word_scores(words, surprisal, offsets)
    assert sum(scores) == pytest.approx(sum(direct), abs=1e-3)  # every token lands in one word
    zugosa = next(i for i, w in enumerate(words) if w.text == "Zugosa")
    assert scores[zugosa] > scores[zugosa + 1]  # a rare name carries more than "started"


@pytest.mark.slow  # ~25 s: their scores are checked against transformers in the default run
@pytest.mark.parametrize("method", [SelectiveContext, LLMLingua1])
def test_perplexity_baselines_compress_on_vllm(params, method):
    compressor = method(params)
    out = compressor.compress([TEXT, TEXT + " " + TEXT], Budget(rate=0.5))
    for result in out:
        assert 1.4 < result.ratio < 3.0
    (full,) = compressor.compress([TEXT], Budget(rate=1.0))
    assert full.ratio == pytest.approx(1.0, abs=0.05)
