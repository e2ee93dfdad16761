"""How much each parameter matters to the objective.

Grids: a variance decomposition. For each parameter, the variance of the objective's mean per
value of that parameter, over the objective's total variance (the share a one-way ANOVA
explains), normalized to sum to 1. Optuna studies: optuna's fANOVA importance (a random
forest over the completed trials), falling back to the variance decomposition when it cannot
run (too few trials, or scikit-learn is missing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import optuna

from viper.optimizer.results import TrialRecord


def variance_importance(trials: Sequence[TrialRecord], names: Sequence[str]) -> dict[str, float]:
    """Each parameter's share of the objective's variance explained by its value alone."""
    valid = [t for t in trials if t.value is not None]
    if len(valid) < 2:
        return {n: 0.0 for n in names}
    values = np.array([t.value for t in valid], dtype=np.float64)
    total = float(values.var())
    raw: dict[str, float] = {}
    for name in names:
        groups: dict[object, list[float]] = defaultdict(list)
        for t, v in zip(valid, values, strict=True):
            groups[repr(t.params.get(name))].append(float(v))
        means = np.array([np.mean(g) for g in groups.values()])
        counts = np.array([len(g) for g in groups.values()], dtype=np.float64)
        between = float((counts * (means - values.mean()) ** 2).sum() / counts.sum())
        raw[name] = between / total if total > 0 else 0.0
    norm = sum(raw.values())
    return {n: round(v / norm, 6) if norm > 0 else 0.0 for n, v in raw.items()}


def study_importance(
    study: optuna.Study, trials: Sequence[TrialRecord], names: Sequence[str]
) -> tuple[dict[str, float], str]:
    """(importance by parameter, method name) of an optuna study."""
    complete = [t for t in trials if t.state == "complete"]
    if len(complete) >= 4:
        try:
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            found = optuna.importance.get_param_importances(study, evaluator=evaluator)
            return {n: round(float(found.get(n, 0.0)), 6) for n in names}, "fanova"
        except (ImportError, RuntimeError, ValueError):
            pass
    return variance_importance(trials, names), "variance"
