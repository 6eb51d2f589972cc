"""Mutual-information estimators for compressor-predictor sweeps (stage `mi_sweep`, in progress)."""

from tasks.mi import monte_carlo  # noqa: F401 - registers estimators
from tasks.mi.base import ESTIMATORS, Estimate, LogLikelihoods

__all__ = ["ESTIMATORS", "Estimate", "LogLikelihoods"]
