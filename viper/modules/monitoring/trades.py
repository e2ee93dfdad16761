"""Closed trades from the position stream: a trade is a position that went back to flat
(or flipped), its PnL the realized PnL it added. Knows nothing of the bus or Prometheus."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import msgspec

from viper.domain import Direction, Fill, Position, Side
from viper.protocols import TradeCounts

ZERO = Decimal(0)
ENTRY_SIDE: dict[Direction, Side] = {"long": "buy", "short": "sell"}


class Holding(msgspec.Struct, kw_only=True):
    """An open position as far as the stats need it."""

    direction: Direction
    baseline: Decimal  # the book's realized PnL when this position opened


class TradeStats:
    """Counts closed trades by symbol and entry side, and wins, from `PositionChanged`.

    The order journal's `realized_pnl` is cumulative per symbol (net of fees), so a trade's
    PnL is what it added while the position was open.
    """

    def __init__(self) -> None:
        self.trades: Counter[tuple[str, Side]] = Counter()
        self.fills: Counter[tuple[str, Side]] = Counter()
        self.wins = 0
        self.realized_pnl = 0.0
        self._open: dict[str, Holding] = {}

    @property
    def total(self) -> int:
        return sum(self.trades.values())

    @property
    def win_rate(self) -> float | None:
        """Share of closed trades with a positive PnL; None before the first."""
        total = self.total
        return self.wins / total if total else None

    def on_fill(self, fill: Fill) -> None:
        self.fills[(fill.symbol, fill.side)] += 1

    def on_position(self, position: Position) -> None:
        """Apply a position update; counts a trade when one closes (or flips)."""
        symbol = position.symbol
        held = self._open.get(symbol)
        is_open = position.size != ZERO
        if held is not None and (not is_open or position.direction != held.direction):
            self._close(symbol, held, position.realized_pnl)
            held = None
        if not is_open:
            self._open.pop(symbol, None)
        elif held is None:
            # After a flip the new position's baseline is the PnL realized by the close.
            self._open[symbol] = Holding(
                direction=position.direction, baseline=position.realized_pnl
            )

    def _close(self, symbol: str, held: Holding, realized: Decimal) -> None:
        pnl = float(realized - held.baseline)
        self.trades[(symbol, ENTRY_SIDE[held.direction])] += 1
        self.realized_pnl += pnl
        if pnl > 0:
            self.wins += 1

    def counts(self) -> TradeCounts:
        by_symbol: dict[str, dict[str, int]] = {}
        for (symbol, side), n in sorted(self.trades.items()):
            by_symbol.setdefault(symbol, {})[side] = n
        total = self.total
        return TradeCounts(
            total=total,
            wins=self.wins,
            losses=total - self.wins,
            realized_pnl=round(self.realized_pnl, 8),
            by_symbol=by_symbol,
        )
