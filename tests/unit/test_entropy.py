import math

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from tasks.engines.entropy import entropy_upper_bound, topk_entropy


def distributions(vocab: int = 200, count: int = 50):
    rng = np.random.default_rng(0)
    for i in range(count):
        logits = rng.normal(scale=0.5 + i / 5, size=vocab)  # from flat to peaked
        yield logits - np.log(np.exp(logits).sum())


def test_full_topk_is_exact_entropy():
    for logp in distributions():
        h, tail = topk_entropy(sorted(logp.tolist(), reverse=True))
        assert h == pytest.approx(scipy_entropy(np.exp(logp)), abs=1e-9)
        assert tail == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("k", [1, 5, 20, 100])
def test_truncated_entropy_bounds_the_full_entropy(k):
    for logp in distributions():
        top = sorted(logp.tolist(), reverse=True)[:k]
        h, tail = topk_entropy(top)
        full = scipy_entropy(np.exp(logp))
        assert tail == pytest.approx(1 - np.exp(top).sum(), abs=1e-12)
        assert h <= full + 1e-9
        assert full <= entropy_upper_bound(h, tail, len(logp), k) + 1e-9


def test_uniform_tail_reaches_the_upper_bound():
    vocab, k = 10, 2
    logp = [math.log(0.4), math.log(0.2)] + [math.log(0.4 / 8)] * 8
    h, tail = topk_entropy(logp[:k])
    assert entropy_upper_bound(h, tail, vocab, k) == pytest.approx(scipy_entropy(np.exp(logp)))
