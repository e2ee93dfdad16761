"""What an optimizer maximizes: one objective figure of a run, under constraints.

Objectives: sharpe, sortino, calmar, total_return, profit_factor (all "higher is better").
Constraints: `min_trades` and `max_drawdown`; a run violating one, or whose objective is
undefined (no variance, no losses, ...), scores -inf and never ranks above a valid run.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Objective = Literal["sharpe", "sortino", "calmar", "total_return", "profit_factor"]
OBJECTIVES: tuple[str, ...] = Objective.__args__  # type: ignore[attr-defined]
NEG_INF = -math.inf


class Constraints(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Runs with fewer trades or a deeper drawdown (a fraction) than these are invalid."""

    min_trades: Annotated[int, Meta(ge=0)] = 0
    max_drawdown: Annotated[float, Meta(gt=0, le=1)] | None = None


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """The headline figures of one run (as `BacktestResult` defines them)."""

    total_return: float
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    cagr: float | None
    profit_factor: float | None
    max_drawdown: float
    win_rate: float
    total_trades: int
    exposure: float
    final_capital: float


def objective_of(figures: Figures, objective: str) -> float | None:
    """The objective's figure (None when undefined)."""
    value: float | None = getattr(figures, objective)
    return value


def violation(figures: Figures, constraints: Constraints) -> str:
    """Why `figures` break a constraint, or ''."""
    if figures.total_trades < constraints.min_trades:
        return f"trades {figures.total_trades} < min_trades {constraints.min_trades}"
    limit = constraints.max_drawdown
    if limit is not None and figures.max_drawdown > limit:
        return f"max_drawdown {figures.max_drawdown:.4f} > {limit}"
    return ""


def score(figures: Figures, objective: str, constraints: Constraints) -> tuple[float, str]:
    """(value to maximize, why it is -inf or '')."""
    broken = violation(figures, constraints)
    if broken:
        return NEG_INF, broken
    value = objective_of(figures, objective)
    if value is None or not math.isfinite(value):
        return NEG_INF, f"{objective} is undefined"
    return float(value), ""
