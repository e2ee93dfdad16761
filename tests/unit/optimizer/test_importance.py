"""Variance-based importance finds the parameter that drives the objective."""

from __future__ import annotations

from viper.optimizer.importance import variance_importance
from viper.optimizer.results import TrialRecord


def test_the_parameter_that_drives_the_objective_dominates() -> None:
    trials = [
        TrialRecord(number=i, params={"a": a, "b": b}, value=10.0 * a + 0.1 * b)
        for i, (a, b) in enumerate((a, b) for a in range(5) for b in range(5))
    ]
    found = variance_importance(trials, ["a", "b"])
    assert found["a"] > 0.95 and found["b"] < 0.05
    assert abs(sum(found.values()) - 1.0) < 1e-6


def test_invalid_trials_are_left_out() -> None:
    trials = [
        TrialRecord(number=0, params={"a": 1}, value=None),
        TrialRecord(number=1, params={"a": 2}, value=1.0),
    ]
    assert variance_importance(trials, ["a"]) == {"a": 0.0}
