"""Objectives and constraints: a violating or undefined run scores -inf."""

from __future__ import annotations

import math

from viper.optimizer.objectives import OBJECTIVES, Constraints, Figures, score


def figures(**changes: object) -> Figures:
    base: dict[str, object] = {
        "total_return": 0.2,
        "sharpe": 1.5,
        "sortino": 2.0,
        "calmar": 1.1,
        "cagr": 0.1,
        "profit_factor": 1.4,
        "max_drawdown": 0.12,
        "win_rate": 0.5,
        "total_trades": 40,
        "exposure": 0.3,
        "final_capital": 12_000.0,
    }
    base.update(changes)
    return Figures(**base)  # type: ignore[arg-type]


def test_each_objective_reads_its_figure() -> None:
    assert OBJECTIVES == ("sharpe", "sortino", "calmar", "total_return", "profit_factor")
    expected = {
        "sharpe": 1.5,
        "sortino": 2.0,
        "calmar": 1.1,
        "total_return": 0.2,
        "profit_factor": 1.4,
    }
    for name, value in expected.items():
        assert score(figures(), name, Constraints()) == (value, "")


def test_too_few_trades_scores_minus_infinity() -> None:
    value, why = score(figures(total_trades=3), "sharpe", Constraints(min_trades=10))
    assert value == -math.inf and "min_trades" in why


def test_too_deep_drawdown_scores_minus_infinity() -> None:
    value, why = score(figures(max_drawdown=0.4), "sharpe", Constraints(max_drawdown=0.25))
    assert value == -math.inf and "max_drawdown" in why


def test_undefined_objective_scores_minus_infinity() -> None:
    value, why = score(figures(profit_factor=None), "profit_factor", Constraints())
    assert value == -math.inf and "undefined" in why
