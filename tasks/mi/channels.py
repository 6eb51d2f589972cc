"""Channels whose mutual information is known in closed form: the estimators' validation.

`symmetric(k, eps)`: X uniform over k symbols; Z = X with probability 1 - eps, else one of the
other k - 1 symbols uniformly. I(X; Z) = log k - H(eps) - eps log(k - 1) nats. Every z is one
token, and log p(z | x) is exact, as an ideal scorer would give it.
"""

import math
import random
from dataclasses import dataclass

import numpy as np

from tasks.mi.base import ESTIMATORS, LogLikelihoods, other_contexts


@dataclass(frozen=True)
class Symmetric:
    k: int
    eps: float

    def mutual_information(self) -> float:
        """Nats."""
        h = (
            0.0
            if self.eps in (0.0, 1.0)
            else -(self.eps * math.log(self.eps) + (1 - self.eps) * math.log(1 - self.eps))
        )
        return math.log(self.k) - h - (self.eps * math.log(self.k - 1) if self.eps else 0.0)

    def log_p(self, z: int, x: int) -> float:
        if z == x:
            return math.log(1 - self.eps) if self.eps < 1 else -math.inf
        return math.log(self.eps / (self.k - 1)) if self.eps > 0 else -math.inf

    def sample(self, n: int, seed: int) -> tuple[list[int], list[int]]:
        rng = random.Random(seed)
        xs = [rng.randrange(self.k) for _ in range(n)]
        zs = []
        for x in xs:
            if rng.random() < self.eps:
                zs.append(rng.choice([s for s in range(self.k) if s != x]))
            else:
                zs.append(x)
        return xs, zs

    def log_likelihoods(self, n: int, m: int, seed: int) -> LogLikelihoods:
        xs, zs = (np.asarray(v) for v in self.sample(n, seed))
        js = np.asarray(other_contexts(n, m, seed + 1))
        table = np.array([[self.log_p(z, x) for x in range(self.k)] for z in range(self.k)])
        return LogLikelihoods(
            own=table[zs, xs].tolist(),
            others=table[zs[:, None], xs[js]].tolist(),
            tokens=[1] * n,
        )


# The validation set behind `known_mi_relative_error`: low to high MI, all below log(M + 1).
CHANNELS = (Symmetric(2, 0.1), Symmetric(4, 0.2), Symmetric(8, 0.05), Symmetric(16, 0.3))


def relative_errors(
    estimator: str = "monte_carlo", n: int = 20000, m: int = 255, seed: int = 0
) -> dict[str, float]:
    """|estimate - true| / true for each validation channel."""
    out = {}
    for channel in CHANNELS:
        true = channel.mutual_information()
        estimate = ESTIMATORS.get(estimator)(channel.log_likelihoods(n, m, seed))
        out[f"symmetric_k{channel.k}_eps{channel.eps}"] = abs(estimate.nats - true) / true
    return out


def relative_bias(
    n: int, m: int, estimator: str = "monte_carlo", repeats: int = 50, seed: int = 0
) -> dict[str, float]:
    """(mean estimate - true) / true for each validation channel at N = `n` samples and M = `m`
    other contexts, averaged over `repeats` seeds: the estimator's bias at a sweep's own N and M
    (negative: it under-estimates, as a log(M + 1)-bounded estimator does near its ceiling)."""
    out = {}
    for channel in CHANNELS:
        true = channel.mutual_information()
        estimate = ESTIMATORS.get(estimator)
        estimates = [estimate(channel.log_likelihoods(n, m, seed + 2 * r)).nats for r in range(repeats)]
        out[f"symmetric_k{channel.k}_eps{channel.eps}"] = (sum(estimates) / repeats - true) / true
    return out
