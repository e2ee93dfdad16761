"""A managed position and its protective levels: stop-loss, take-profit, trailing stop.

The levels follow the backtester's own rules (`viper.backtest.fills`): the stop and the
take-profit are set from the fill price and the decision bar's distances, a trailing stop
trails the best high (long) or low (short) of *earlier* bars, and when a bar reaches both the
stop and the take-profit the stop wins (pessimistic).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

import msgspec

from viper.backtest.fills import stop_of, touched
from viper.backtest.layout import X_STOP, X_TRAIL

NAN = math.nan
PositionState = Literal["entering", "open", "exiting"]
STOP_REASONS = {X_STOP: "stop_loss", X_TRAIL: "trailing_stop"}


def finite(value: float) -> float | None:
    """`value`, or None when it is NaN or infinite (for JSON views)."""
    return value if math.isfinite(value) else None


class Managed(msgspec.Struct, kw_only=True):
    """A position the engine opened (or adopted) and protects."""

    symbol: str
    side: int  # +1 long, -1 short
    intent_id: str
    state: PositionState = "entering"
    opened_ms: int = 0
    stop_distance: float = NAN
    take_profit_distance: float = NAN
    trail_distance: float = NAN
    entry_price: float = NAN
    size: Decimal = Decimal(0)
    stop: float = NAN
    take_profit: float = NAN
    best: float = NAN
    effective_stop: float = NAN
    effective_kind: int = X_STOP
    exchange_orders: dict[str, str] = msgspec.field(default_factory=dict)  # kind -> client id
    exchange_stops: bool = False  # the stop and take-profit rest at the exchange
    awaiting_exchange: bool = False  # a bar reached a resting level: its fill is on the way
    adopted: bool = False

    def open_at(self, entry_price: float, size: Decimal) -> None:
        """The entry filled: set the levels from the fill price, as the backtester does."""
        self.state, self.entry_price, self.size = "open", entry_price, size
        side = self.side
        self.stop = entry_price - side * self.stop_distance if self.stop_distance > 0 else NAN
        self.take_profit = (
            entry_price + side * self.take_profit_distance if self.take_profit_distance > 0 else NAN
        )
        self.best = entry_price
        self._restop()

    def _restop(self) -> None:
        trail = self.trail_distance if self.trail_distance > 0 else NAN
        stop, kind = stop_of(float(self.side), self.stop, trail, self.best)
        self.effective_stop, self.effective_kind = float(stop), int(kind)

    def hit(self, high: float, low: float) -> str | None:
        """The exit a price range reaches: the stop first (pessimistic), then the take-profit."""
        if self.state != "open":
            return None
        side = float(self.side)
        stop = NAN if self.exchange_stops and self.effective_kind == X_STOP else self.effective_stop
        take = NAN if self.exchange_stops else self.take_profit
        if not touched(side, high, low, NAN, stop, take):
            return None
        worst = low if self.side > 0 else high
        if stop == stop and (worst - stop) * side <= 0.0:
            return STOP_REASONS[self.effective_kind]
        return "take_profit"

    def exchange_hit(self, high: float, low: float) -> bool:
        """Whether the range reached a level that rests at the exchange (which fills it)."""
        if self.state != "open" or not self.exchange_stops:
            return False
        stop = self.effective_stop if self.effective_kind == X_STOP else NAN
        return bool(touched(float(self.side), high, low, NAN, stop, self.take_profit))

    def after_bar(self, high: float, low: float) -> None:
        """Move the trailing stop with the bar's extreme (it applies from the next bar on)."""
        if self.state != "open" or not self.trail_distance > 0:
            return
        extreme = high if self.side > 0 else low
        if (extreme - self.best) * self.side > 0.0:
            self.best = extreme
            self._restop()

    @property
    def trailing_stop(self) -> float | None:
        """The trailing stop's level when it is the one that binds."""
        return finite(self.effective_stop) if self.effective_kind == X_TRAIL else None
