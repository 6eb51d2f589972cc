"""Next-token entropy from the top-k log-probs a backend returns.

vLLM returns only the top-k log-probs per step (k = engine.max_logprobs), not the full
distribution. We report, per step, the exact entropy of the distribution coarsened to
"top-k tokens + one outcome holding the remaining mass" together with that remaining mass r:

    H_k = -sum_{i<=k} p_i log p_i - r log r        (nats),   r = 1 - sum_{i<=k} p_i

H_k <= H <= H_k + r log(V - k) for the full entropy H over a vocabulary of V tokens, so H_k is
exact when r = 0 (k >= V, or a peaked step) and its error is bounded by r log(V - k) otherwise.
The hf backend computes H exactly and reports r = 0.
"""

import math
from collections.abc import Sequence


def topk_entropy(logprobs: Sequence[float]) -> tuple[float, float]:
    """(H_k, r) in nats from the log-probs of the k most likely tokens."""
    probs = [math.exp(lp) for lp in logprobs]
    tail = max(0.0, 1.0 - math.fsum(probs))
    h = -math.fsum(p * lp for p, lp in zip(probs, logprobs, strict=True))
    if tail > 0.0:
        h -= tail * math.log(tail)
    return h, tail


def entropy_upper_bound(h_k: float, tail: float, vocab_size: int, k: int) -> float:
    """The largest full entropy consistent with (H_k, r): the tail spread evenly over V - k tokens."""
    rest = vocab_size - k
    return h_k + tail * math.log(rest) if rest > 1 else h_k
