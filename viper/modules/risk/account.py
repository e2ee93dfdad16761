"""The risk manager's cached view of the account: equity, positions, marks and pending entries.

Equity comes from the exchange (`fetch_balance`) after fills and at each bar; positions from
the order journal's `PositionChanged` as they happen, and from the exchange (`fetch_positions`)
on a timer. Pending entries (approved, not final) count as positions until their order ends;
the order module publishes a fill's `PositionChanged` before the `OrderUpdated` that ends it,
so an entry never stops counting before its position does.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from viper.domain import MarketInfo, Position
from viper.modules.risk.gate import ZERO, Account, Holding, Pending
from viper.protocols import Exchange


class AccountBook:
    """Equity, holdings, last prices and pending entries, as of the last refresh."""

    def __init__(self) -> None:
        self.equity = 0.0
        self.free_margin = 0.0
        self.loaded = False
        self.updated_ms = 0
        self.refreshes = 0
        self.holdings: dict[str, Holding] = {}
        self.marks: dict[str, float] = {}
        self.pending: dict[str, Pending] = {}
        self._markets: dict[str, MarketInfo] | None = None

    async def markets(self, exchange: Exchange, symbol: str = "") -> dict[str, MarketInfo]:
        """The exchange's markets, loaded once, and again when asked for one not listed."""
        if self._markets is None or (symbol and symbol not in self._markets):
            self._markets = await exchange.markets()
        return self._markets

    def mark(self, symbol: str, price: float) -> None:
        """Remember the latest price of `symbol` (positions are marked at it)."""
        if price > 0:
            self.marks[symbol] = price
            held = self.holdings.get(symbol)
            if held is not None:
                self.holdings[symbol] = Holding(
                    symbol=symbol, size=held.size, entry_price=held.entry_price, mark=price
                )

    async def refresh(self, exchange: Exchange, now_ms: int, positions: bool = True) -> None:
        """Read the balance (and, with `positions`, every position) from the exchange."""
        if positions:
            balance, held = await asyncio.gather(
                exchange.fetch_balance(), exchange.fetch_positions()
            )
            self.holdings = {p.symbol: self._holding(p) for p in held if p.size != ZERO}
        else:
            balance = await exchange.fetch_balance()
        self.equity = float(balance.total)
        self.free_margin = float(balance.free)
        self.refreshes += 1
        self.loaded = True
        self.updated_ms = now_ms

    def apply_position(self, position: Position) -> None:
        """The journal's position in a symbol changed (a fill): hold it from now on."""
        if position.size == ZERO:
            self.holdings.pop(position.symbol, None)
        else:
            self.holdings[position.symbol] = self._holding(position)

    def _holding(self, position: Position) -> Holding:
        size = position.size if position.direction == "long" else -position.size
        entry = float(position.entry_price)
        return Holding(
            symbol=position.symbol,
            size=size,
            entry_price=entry,
            mark=self.marks.get(position.symbol, entry),
        )

    def add_pending(self, client_order_id: str, symbol: str, notional: Decimal) -> None:
        """An entry was approved: count it until it settles."""
        self.pending[client_order_id] = Pending(
            client_order_id=client_order_id, symbol=symbol, notional=notional
        )

    def settle(self, client_order_id: str) -> bool:
        """An entry's order ended: its position (if it filled) is held already."""
        return self.pending.pop(client_order_id, None) is not None

    def snapshot(self) -> Account:
        """The account as the gate sees it now."""
        return Account(
            equity=self.equity,
            free_margin=self.free_margin,
            holdings=dict(self.holdings),
            pending=dict(self.pending),
        )
