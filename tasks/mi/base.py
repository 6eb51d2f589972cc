"""What an MI estimator reads and returns.

A batch of N samples (x_i, q_i, z_i), z_i drawn from the compressor given (x_i, q_i). The
scorer gives, for each i, log p(z_i | x_j, q_i) for its own context j = i and for M other
contexts j (teacher-forced log-probs of z_i's tokens after the prompt built from x_j and q_i).
Estimators turn those numbers into I(X; Z | Q): they never call a model, so they are checked on
channels whose MI is known in closed form (tasks/mi/channels.py).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tasks.errors import InfopipeError
from tasks.registry import Registry
from tasks.stats import bootstrap_ci


@dataclass(frozen=True)
class LogLikelihoods:
    own: list[float]  # log p(z_i | x_i, q_i)
    others: list[list[float]]  # log p(z_i | x_j, q_i) for the M contexts j != i drawn for i
    tokens: list[int]  # |z_i| in tokens (bits per token)

    def __post_init__(self) -> None:
        if not (len(self.own) == len(self.others) == len(self.tokens)):
            raise InfopipeError("log-likelihoods", "own, others and tokens differ in length")
        if len({len(row) for row in self.others}) > 1:
            raise InfopipeError("log-likelihoods", "every sample needs the same number M of other contexts")


@dataclass(frozen=True)
class Estimate:
    nats: float
    ci95: tuple[float, float]  # bootstrap over samples, nats
    samples: int  # N
    contexts: int  # M (other contexts per sample)
    ceiling: float | None  # the estimator cannot exceed this (nats); None when unbounded
    mean_tokens: float
    terms: tuple[float, ...] = ()  # per sample, nats: `nats` is their mean (resampled in analyses)

    @property
    def bits(self) -> float:
        return self.nats / math.log(2)

    @property
    def bits_per_token(self) -> float:
        return self.bits / self.mean_tokens if self.mean_tokens else float("nan")


Estimator = Callable[..., Estimate]
ESTIMATORS: Registry[Estimator] = Registry("estimator")


def other_contexts(n: int, m: int, seed: int) -> list[list[int]]:
    """For each sample i, `m` distinct other indices j != i, sorted (seeded); all when m = n - 1."""
    if n < 2:
        raise InfopipeError("mi.samples", f"{n} sample(s): the marginal needs at least one other context")
    if not 0 < m <= n - 1:
        raise InfopipeError("mi.contexts", f"M = {m} other contexts, but there are only {n - 1} per sample")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        picks = np.arange(n - 1) if m == n - 1 else np.sort(rng.choice(n - 1, size=m, replace=False))
        out.append((picks + (picks >= i)).tolist())
    return out


def summarize(terms: Sequence[float], data: LogLikelihoods, ceiling: float | None) -> Estimate:
    nats = sum(terms) / len(terms)
    # An infinite term (z impossible under every other context) makes the estimate infinite.
    low, high = bootstrap_ci(terms) if math.isfinite(nats) else (nats, nats)
    return Estimate(
        nats=nats,
        ci95=(low, high),
        samples=len(terms),
        contexts=len(data.others[0]),
        ceiling=ceiling,
        mean_tokens=sum(data.tokens) / len(data.tokens),
        terms=tuple(terms),
    )
