"""What an optimization produces: trials, the top-N table, importance, walk-forward windows.

Values are the objective (higher is better); a trial that broke a constraint or whose objective
is undefined has `value` None and says why in `note`. Times are ISO 8601 UTC.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from viper.optimizer.objectives import Constraints, Figures
from viper.optimizer.space import SearchSpace

TrialState = Literal["complete", "invalid", "pruned", "failed"]
Method = Literal["grid", "optuna", "walk_forward"]


class TrialRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One evaluated parameter set."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: TrialState = "complete"
    figures: Figures | None = None
    note: str = ""
    worker: str = ""


class ParamStability(msgspec.Struct, frozen=True, kw_only=True):
    """How one parameter's best value moved between walk-forward windows.

    `spread` is the standard deviation over the parameter's range (0 = it never moved; for a
    categorical parameter, the share of windows away from its most common value).
    """

    values: list[Any]
    spread: float
    changes: int


class WindowReport(msgspec.Struct, frozen=True, kw_only=True):
    """One walk-forward window: optimized in-sample, the best then run out-of-sample."""

    index: int
    in_sample: tuple[str, str]
    out_of_sample: tuple[str, str]
    in_bars: int
    out_bars: int
    trials: int
    best_params: dict[str, Any] | None
    in_value: float | None
    out_value: float | None
    in_figures: Figures | None = None
    out_figures: Figures | None = None


class WalkForwardReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every window, how stable the best parameters were, and whether OOS held up."""

    windows: list[WindowReport]
    anchored: bool
    mean_in: float | None
    mean_out: float | None
    efficiency: float | None
    stability: dict[str, ParamStability]
    overfit: bool
    warning: str = ""


class OptimizationResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one optimization job; `base_params` are the strategy's parameters the
    search left fixed, so `{**base_params, **best_params}` is the full set to trade."""

    id: str
    method: Method
    strategy: str
    symbols: list[str]
    exchange: str
    timeframe: str
    start_ms: int
    end_ms: int
    objective: str
    constraints: Constraints
    space: SearchSpace
    sizing: str
    trials: int
    valid_trials: int
    base_params: dict[str, Any]
    best_params: dict[str, Any] | None
    best_value: float | None
    best_figures: Figures | None
    top: list[TrialRecord]
    importance: dict[str, float]
    importance_method: str
    walk_forward: WalkForwardReport | None = None
    study: str | None = None
    created_ms: int = 0
    duration_seconds: float = 0.0


def rank(trials: list[TrialRecord]) -> list[TrialRecord]:
    """Valid trials best first (ties: lower number first)."""
    valid = [t for t in trials if t.value is not None]
    return sorted(valid, key=lambda t: (-(t.value or 0.0), t.number))
