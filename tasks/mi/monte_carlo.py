"""Monte Carlo estimators of I(X; Z | Q) from LM log-likelihoods (reconstruction of He et al.
2025, arXiv 2512.21720, Sec. 3; reference/algorithms.md Job 3.2).

    I(X; Z | Q) ~ 1/N sum_i [ log p(z_i | x_i, q_i) - log p^(z_i | q_i) ]

with the marginal p(z_i | q_i) = E_x p(z_i | x, q_i) replaced by an average over contexts.
Assumptions: the (x_i, q_i) are i.i.d. draws of the task distribution, z_i ~ p(. | x_i, q_i)
from the same model whose log-probs are used (else the value is a cross-model estimate), and
the other contexts x_j are draws of X independent of z_i.

`monte_carlo`   the marginal averages over the own context and M others (M + 1 terms): each
                term is at most log(M + 1), so the estimate is a lower-bound-like (InfoNCE)
                value that saturates at log(M + 1) nats however large the true MI.
`leave_one_out` the marginal averages over the M others only: unbounded, less biased when
                M is small, but it over-estimates when z_i is unlikely under every other context.

`clip`: each per-sample term is clipped to [0, log(M + 1)] (negative terms are sampling noise:
the true conditional MI is never negative).
"""

import math

import numpy as np

from tasks.mi.base import ESTIMATORS, Estimate, LogLikelihoods, summarize


def _terms(data: LogLikelihoods, include_own: bool, clip: bool) -> list[float]:
    own = np.asarray(data.own, dtype=np.float64)
    others = np.asarray(data.others, dtype=np.float64)
    pool = np.concatenate([own[:, None], others], axis=1) if include_own else others
    with np.errstate(divide="ignore"):
        marginal = np.logaddexp.reduce(pool, axis=1) - math.log(pool.shape[1])
    terms = own - marginal
    if clip:
        terms = np.clip(terms, 0.0, math.log(others.shape[1] + 1))
    return [float(t) for t in terms]


@ESTIMATORS.register("monte_carlo")
def monte_carlo(data: LogLikelihoods, clip: bool = False) -> Estimate:
    m = len(data.others[0])
    return summarize(_terms(data, include_own=True, clip=clip), data, math.log(m + 1))


@ESTIMATORS.register("leave_one_out")
def leave_one_out(data: LogLikelihoods, clip: bool = False) -> Estimate:
    m = len(data.others[0])
    return summarize(_terms(data, include_own=False, clip=clip), data, math.log(m + 1) if clip else None)
