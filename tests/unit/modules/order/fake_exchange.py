"""An in-memory exchange account for the order and sync tests: idempotent by client order id.

Faults are queued per operation: "before" raises TemporaryError without taking the order,
"after" takes it and then raises, "lose" takes it and never answers, "reject" refuses it.
`down = True` fails every call, as an outage would. Fills are made by the test (`fill`),
and come back as the `ExecutionReported` the real exchange module would publish.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from decimal import Decimal

import msgspec

from viper.domain import Balance, ExchangeOrder, Fill, MarketInfo, OrderType, Position, Side
from viper.errors import NotFoundError, RejectedError, TemporaryError
from viper.events import ExecutionReported

ZERO = Decimal(0)
SYMBOL = "BTC/USDT:USDT"


class FakeExchange:
    """Implements `viper.protocols.Exchange` in memory."""

    def __init__(self) -> None:
        self.orders: dict[str, ExchangeOrder] = {}
        self.create_calls: list[str] = []
        self.calls: list[str] = []
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}  # signed size, entry
        self.down = False
        self.hold: asyncio.Event | None = None  # fetch_positions waits for it when set
        self.before_create: Callable[[str], Awaitable[None]] | None = None
        self._ids = itertools.count(1)
        self._fills = itertools.count(1)

    @property
    def id(self) -> str:
        return "fake"

    def fail(self, operation: str, *kinds: str) -> None:
        """Queue faults for the next calls of `operation`."""
        self.faults[operation].extend(kinds)

    def _enter(self, operation: str) -> str | None:
        self.calls.append(operation)
        if self.down:
            raise TemporaryError(f"{operation}: exchange unreachable")
        queue = self.faults[operation]
        return queue.popleft() if queue else None

    async def markets(self) -> dict[str, MarketInfo]:
        self._enter("markets")
        return {SYMBOL: MarketInfo(symbol=SYMBOL, base="BTC", quote="USDT", settle="USDT")}

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
        self.create_calls.append(client_order_id)
        if self.before_create is not None:
            await self.before_create(client_order_id)
        fault = self._enter("create_order")
        if fault == "before":
            raise TemporaryError("connection reset before the order was sent")
        if fault == "reject":
            raise RejectedError("insufficient margin")
        existing = self.orders.get(client_order_id)
        if existing is None:
            existing = ExchangeOrder(
                client_order_id=client_order_id,
                symbol=symbol,
                side=side,
                type=type,
                amount=amount,
                status="open",
                exchange_order_id=str(next(self._ids)),
                price=price,
                stop_price=stop_price,
                reduce_only=reduce_only,
            )
            self.orders[client_order_id] = existing
        if fault == "after":
            raise TemporaryError("connection reset after the order was accepted")
        if fault == "lose":
            await asyncio.sleep(3600)
        return existing

    async def cancel_order(self, client_order_id: str, symbol: str) -> ExchangeOrder:
        self._enter("cancel_order")
        order = self.orders.get(client_order_id)
        if order is None:
            raise NotFoundError(f"no order {client_order_id}")
        if order.status != "open":
            raise RejectedError(f"order {client_order_id} is {order.status}")
        order = msgspec.structs.replace(order, status="canceled")
        self.orders[client_order_id] = order
        return order

    async def fetch_order(self, client_order_id: str, symbol: str) -> ExchangeOrder | None:
        if self._enter("fetch_order") == "before":
            raise TemporaryError("fetch_order timed out")
        return self.orders.get(client_order_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        self._enter("fetch_open_orders")
        return [o for o in self.orders.values() if o.status == "open"]

    async def fetch_positions(self) -> list[Position]:
        self._enter("fetch_positions")
        if self.hold is not None:
            await self.hold.wait()
        return [
            Position(
                symbol=symbol,
                direction="long" if size > ZERO else "short",
                size=abs(size),
                entry_price=entry,
            )
            for symbol, (size, entry) in sorted(self.positions.items())
            if size != ZERO
        ]

    async def fetch_balance(self) -> Balance:
        self._enter("fetch_balance")
        return Balance(currency="USDT", total=Decimal(10_000), free=Decimal(10_000), used=ZERO)

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        self._enter("set_leverage")

    # --- what tests do to the account ----------------------------------------------------------

    def fill(
        self,
        client_order_id: str,
        amount: Decimal | str,
        price: Decimal | str,
        fee: Decimal | str = "0",
        fill_id: str | None = None,
    ) -> ExecutionReported:
        """Execute part of an order; returns the report the exchange would publish."""
        amount, price, fee = Decimal(amount), Decimal(price), Decimal(fee)
        order = self.orders[client_order_id]
        filled = order.filled + amount
        average = ((order.average_price or ZERO) * order.filled + amount * price) / filled
        order = msgspec.structs.replace(
            order,
            filled=filled,
            average_price=average,
            fee=order.fee + fee,
            status="closed" if filled >= order.amount else "open",
        )
        self.orders[client_order_id] = order
        self._move_position(order.symbol, order.side, amount, price)
        fill = Fill(
            fill_id=fill_id or f"f{next(self._fills)}",
            client_order_id=client_order_id,
            symbol=order.symbol,
            side=order.side,
            amount=amount,
            price=price,
            fee=fee,
        )
        return ExecutionReported(ts_ms=0, exchange=self.id, order=order, fill=fill)

    def _move_position(self, symbol: str, side: Side, amount: Decimal, price: Decimal) -> None:
        size, entry = self.positions.get(symbol, (ZERO, ZERO))
        delta = amount if side == "buy" else -amount
        new = size + delta
        if size == ZERO or (size > ZERO) == (delta > ZERO):
            entry = (abs(size) * entry + amount * price) / abs(new)
        elif new == ZERO:
            entry = ZERO
        elif (new > ZERO) != (size > ZERO):
            entry = price
        self.positions[symbol] = (new, entry)

    def set_status(self, client_order_id: str, status: str) -> ExecutionReported:
        """Change an order's status (cancelled, expired) as the exchange might on its own."""
        order = msgspec.structs.replace(self.orders[client_order_id], status=status)
        self.orders[client_order_id] = order
        return ExecutionReported(ts_ms=0, exchange=self.id, order=order)
