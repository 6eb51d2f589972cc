"""Pure sampling at the setting's temperature: no truncation."""

from collections.abc import Sequence
from typing import Any

import torch

from tasks.samplers.base import SAMPLERS, Sampler


@SAMPLERS.register("temperature")
class Temperature(Sampler):
    def warp(self, scores: torch.Tensor, states: Sequence[Any]) -> torch.Tensor:
        return scores
