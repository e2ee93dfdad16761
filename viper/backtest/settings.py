"""A backtest run's settings (capital, sizing, leverage, risk, fees, markets): light to import."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from viper.backtest.fees import FeeModel
from viper.config import RiskConfig
from viper.risk_rules import MarketSpec


class BacktestSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything about a run except the data, the strategy and its parameters."""

    initial_capital: Annotated[float, Meta(gt=0)] = 10_000.0
    timeframe: str | None = None
    sizing: Literal["risk", "fixed_fraction"] = "risk"
    fraction: Annotated[float, Meta(gt=0, le=1)] = 1.0
    leverage: Annotated[float, Meta(gt=0, le=125)] | None = None
    risk: RiskConfig = msgspec.field(default_factory=RiskConfig)
    fees: FeeModel = msgspec.field(default_factory=FeeModel)
    markets: dict[str, MarketSpec] = msgspec.field(default_factory=dict)
    curve_points: Annotated[int, Meta(ge=0)] = 2000

    def position_leverage(self) -> float:
        """Isolated-margin leverage of positions: as given, else 1 (fixed fraction) or the max."""
        if self.leverage is not None:
            return self.leverage
        return 1.0 if self.sizing == "fixed_fraction" else float(self.risk.max_leverage)
