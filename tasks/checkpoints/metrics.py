"""Per-checkpoint metrics of rollouts (reference/algorithms.md 4.7, 4.8, 4.10). Per-token
entropies come from the engine (tasks/engines/entropy.py, full vocabulary when the engine keeps
every log-prob): this module only averages them.

policy entropy     token mean over every response token of the batch (the Entropy Mechanism's
                   `entropy_from_logits` + `masked_mean`, "token-mean"), nats
pass@k             the unbiased estimator of Chen et al. (2021) from n samples with c correct
window entropy     ARES: H̄_t = mean of H_t .. H_{t+w-1}, the forward window starting at t (shorter
                   at a response's end); a token is high-window-entropy above a threshold
EPR                Entropy Production Rate: per response, the mean over its tokens of the entropy
                   truncated to the top-K probabilities, -sum_{k<=K} p_k log p_k
covariance         the token-level Cov(log pi, A) that drives entropy change under policy
                   gradient (Theorem 2), A = reward minus its prompt group's mean
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np


def token_mean(per_response: Sequence[Sequence[float]]) -> float:
    """The mean over every token of every response (not a mean of response means)."""
    total = sum(len(r) for r in per_response)
    return math.fsum(x for r in per_response for x in r) / total if total else float("nan")


def pass_at_k(n: int, c: int, k: int) -> float:
    """P(at least one of k samples drawn without replacement from n is correct), c correct."""
    if not 0 <= c <= n or not 0 < k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 0 < k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def window_entropy(entropy: Sequence[float], window: int) -> list[float]:
    """The forward-window mean entropy at every position of one response."""
    h = np.asarray(entropy, dtype=float)
    if h.size == 0:
        return []
    sums = np.concatenate([[0.0], np.cumsum(h)])
    ends = np.minimum(np.arange(h.size) + window, h.size)
    return list((sums[ends] - sums[: h.size]) / (ends - np.arange(h.size)))


def high_window_share(windows: Sequence[Sequence[float]], threshold: float) -> float:
    """The share of tokens whose window entropy exceeds `threshold`."""
    flat = [x for r in windows for x in r]
    return sum(x > threshold for x in flat) / len(flat) if flat else float("nan")


def truncated_entropy(top_logprobs: Mapping[int, float], k: int) -> float:
    """-sum p log p over the k most likely tokens of one step (EPR's per-token term)."""
    top = sorted(top_logprobs.values(), reverse=True)[:k]
    return -math.fsum(math.exp(lp) * lp for lp in top)


def epr(steps: Sequence[Mapping[int, float]], k: int) -> float:
    """Entropy Production Rate of one response: its mean truncated entropy per token."""
    return math.fsum(truncated_entropy(s, k) for s in steps) / len(steps) if steps else float("nan")


def advantages(rewards: Sequence[float], groups: Sequence[str]) -> list[float]:
    """GRPO's advantage without scaling: each reward minus the mean of its prompt's group."""
    means: dict[str, list[float]] = {}
    for r, g in zip(rewards, groups, strict=True):
        means.setdefault(g, []).append(r)
    return [r - math.fsum(means[g]) / len(means[g]) for r, g in zip(rewards, groups, strict=True)]


def covariance(logprobs: Sequence[Sequence[float]], advantage: Sequence[float]) -> float:
    """Token-level mean of (A_i - mean A)(log pi_i - mean log pi) over every response token."""
    a = np.asarray([adv for lp, adv in zip(logprobs, advantage, strict=True) for _ in lp], dtype=float)
    lp = np.asarray([x for r in logprobs for x in r], dtype=float)
    if lp.size == 0:
        return float("nan")
    return float(np.mean((a - a.mean()) * (lp - lp.mean())))
