"""The strategy optimizer: search spaces, grid / Optuna / walk-forward search, shared studies.

`spec.resolve` validates an `OptimizeRequest`; `runner.optimize` runs it over worker processes
and returns an `OptimizationResult`. See docs/optimizer.md.
"""

from __future__ import annotations

from viper.optimizer.objectives import OBJECTIVES, Constraints, Figures
from viper.optimizer.results import OptimizationResult, TrialRecord, WalkForwardReport
from viper.optimizer.space import (
    DEFAULT_SPACES,
    CategoricalParam,
    Condition,
    FloatParam,
    IntParam,
    SearchSpace,
)

__all__ = [
    "DEFAULT_SPACES",
    "OBJECTIVES",
    "CategoricalParam",
    "Condition",
    "Constraints",
    "Figures",
    "FloatParam",
    "IntParam",
    "OptimizationResult",
    "SearchSpace",
    "TrialRecord",
    "WalkForwardReport",
]
