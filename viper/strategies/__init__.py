"""Strategies by name: `STRATEGIES` and `get_strategy` (an unknown name names field "strategy")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from viper.config import Config
from viper.errors import ValidationError
from viper.strategies.base import (
    Bars,
    Decision,
    Decisions,
    IncrementalStrategy,
    Strategy,
    StrategyParams,
)
from viper.strategies.sma_cross import SmaCross
from viper.strategies.viper import Viper

STRATEGIES: Mapping[str, Strategy[Any]] = {s.name: s for s in (SmaCross(), Viper())}


def live_params(config: Config) -> dict[str, Any]:
    """Parameters the live engine runs `[trading] strategy` with: the viper strategy takes its
    score from `[signal]`, others their defaults. `viper parity` backtests with the same."""
    if config.trading.strategy != "viper":
        return {}
    signal = config.signal
    return {
        "threshold": signal.threshold,
        "lookback": signal.lookback,
        "weight_volume": signal.weight_volume,
        "weight_price": signal.weight_price,
        "weight_range": signal.weight_range,
        "weight_external": signal.weight_external,
    }


def get_strategy(name: str) -> Strategy[Any]:
    """The strategy called `name`; a ValidationError on field "strategy" if there is none."""
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(STRATEGIES))
        raise ValidationError(
            f"strategy: unknown strategy {name!r}; known: {known}", field="strategy"
        ) from None


__all__ = [
    "STRATEGIES",
    "Bars",
    "Decision",
    "Decisions",
    "IncrementalStrategy",
    "Strategy",
    "StrategyParams",
    "get_strategy",
    "live_params",
]
