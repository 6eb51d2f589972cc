"""The entropy-performance law of Cui et al. (2025), R = -a exp(H) + b: least squares of the
reward R on exp(H) (linear in a and b), its R^2, the ceiling at zero entropy b - a, and the
paper's use: a fit on the early checkpoints predicting the later ones."""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MIN_POINTS = 3  # two points fit any line exactly: R^2 would say nothing


@dataclass(frozen=True)
class Fit:
    a: float
    b: float
    r2: float
    points: int

    @property
    def ceiling(self) -> float:
        """The predicted reward at zero entropy."""
        return self.b - self.a

    def predict(self, entropy: Sequence[float]) -> list[float]:
        return [self.b - self.a * math.exp(h) for h in entropy]


class NoFit(ValueError):
    """Too few or degenerate points: the reason is the message, recorded instead of a fit."""


def fit(entropy: Sequence[float], reward: Sequence[float]) -> Fit:
    if len(entropy) != len(reward):
        raise ValueError(f"{len(entropy)} entropies but {len(reward)} rewards")
    if len(entropy) < MIN_POINTS:
        raise NoFit(f"{len(entropy)} checkpoint(s): the law needs at least {MIN_POINTS} to fit")
    x = np.exp(np.asarray(entropy, dtype=float))
    y = np.asarray(reward, dtype=float)
    if np.ptp(x) == 0.0:
        raise NoFit("every checkpoint has the same entropy: a and b are not identifiable")
    design = np.stack([-x, np.ones_like(x)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = float(np.sum((y - design @ np.array([a, b])) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - residual / total if total > 0 else float("nan")
    return Fit(float(a), float(b), r2, len(entropy))


def extrapolate(entropy: Sequence[float], reward: Sequence[float]) -> dict[str, Any]:
    """Fit on the first half of the series (in step order), predict the second half."""
    half = math.ceil(len(entropy) / 2)
    early = fit(entropy[:half], reward[:half])
    predicted = early.predict(entropy[half:])
    actual = list(reward[half:])
    if not actual:
        raise NoFit("no second half to predict")
    errors = [p - r for p, r in zip(predicted, actual, strict=True)]
    return {
        "fit": asdict(early) | {"ceiling": early.ceiling},
        "predicted": predicted,
        "actual": actual,
        "mean_absolute_error": float(np.mean(np.abs(errors))),
        "max_absolute_error": float(np.max(np.abs(errors))),
    }
