"""Narrow protocols the core declares and `app.py` wires to whichever module provides them.

Modules never import each other; a module that needs another's capability asks
`ctx.services` for one of these.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from viper.domain import Balance, ExchangeOrder, MarketInfo, OrderType, Position, Side
from viper.runner import ModuleStatus

if TYPE_CHECKING:
    import polars as pl


class StatusSource(Protocol):
    """The runner's view of every module (provided by the app itself)."""

    @property
    def node(self) -> str:
        """This process's name on the bus: host:pid."""
        ...

    def services_status(self) -> list[ModuleStatus]:
        """Every known module with its enabled flag, state and health."""
        ...


class CandleSource(Protocol):
    """Stored candles by exchange, symbol and timeframe (provided by the data module).

    Frames have the store's schema: `timestamp` (int64 ms UTC, bar open), `open`, `high`,
    `low`, `close`, `volume` (float64), sorted by timestamp without duplicates.
    """

    async def candles(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pl.DataFrame:
        """Candles with `start_ms <= timestamp < end_ms` (open bounds when None)."""
        ...


class Exchange(Protocol):
    """An exchange account (paper or real) as the order, risk and sync modules use it.

    Orders are addressed by VIPER's client order id, so a retry or a restart can ask the
    exchange whether an order exists before sending it again. Errors are viper.errors types:
    TemporaryError (retry), RejectedError (the exchange refused), NotFoundError, AuthError.
    State changes are also published as `ExecutionReported` events by the provider.
    """

    @property
    def id(self) -> str:
        """The exchange id ("paper", "bitget", ...)."""
        ...

    async def markets(self) -> dict[str, MarketInfo]:
        """Tradable markets by symbol."""
        ...

    async def create_order(
        self,
        *,
        client_order_id: str,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: Decimal,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
    ) -> ExchangeOrder:
        """Place an order; sending the same client order id twice never makes two orders."""
        ...

    async def cancel_order(self, client_order_id: str, symbol: str) -> ExchangeOrder:
        """Cancel an open order."""
        ...

    async def fetch_order(self, client_order_id: str, symbol: str) -> ExchangeOrder | None:
        """The order with this client id, or None when the exchange never received it."""
        ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Orders still open."""
        ...

    async def fetch_positions(self) -> list[Position]:
        """Open positions."""
        ...

    async def fetch_balance(self) -> Balance:
        """The settlement-currency balance."""
        ...

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the leverage used for new positions in `symbol`."""
        ...
