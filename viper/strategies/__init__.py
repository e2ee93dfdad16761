"""Strategies by name: `STRATEGIES` and `get_strategy` (an unknown name names field "strategy")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
]
