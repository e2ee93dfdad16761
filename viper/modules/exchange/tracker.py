"""Order state tracking for a real exchange: remember each order's last state, report changes.

Every order the ccxt exchange sees (placed, fetched, cancelled, polled) passes through
`OrderTracker.observe`; a new state is reported once, with a `Fill` for the amount that filled
since the last state (its price from the change in the average; ccxt's order structure carries
no per-trade detail). `poll` is one round of the watcher: open orders, then the final state of
every order that left the open list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Protocol

from viper.domain import ExchangeOrder, Fill

Report = Callable[[ExchangeOrder, Fill | None], Awaitable[None]]
_DONE: frozenset[str] = frozenset({"closed", "canceled", "rejected", "expired"})


class OrderSource(Protocol):
    """What a poll needs of the exchange (the ccxt exchange observes what it fetches)."""

    async def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]: ...

    async def fetch_order(self, client_order_id: str, symbol: str) -> ExchangeOrder | None: ...


def is_done(order: ExchangeOrder) -> bool:
    return order.status in _DONE


def fill_between(old: ExchangeOrder | None, new: ExchangeOrder, currency: str) -> Fill | None:
    """The execution that moved an order from `old` to `new`, or None if nothing filled."""
    before = old.filled if old is not None else Decimal(0)
    amount = new.filled - before
    if amount <= 0:
        return None
    average = new.average_price or new.price or Decimal(0)
    old_cost = (old.average_price or Decimal(0)) * before if old is not None else Decimal(0)
    price = (average * new.filled - old_cost) / amount if before else average
    return Fill(
        fill_id=f"{new.exchange_order_id or new.client_order_id}-{new.filled}",
        client_order_id=new.client_order_id,
        symbol=new.symbol,
        side=new.side,
        amount=amount,
        price=price,
        fee=new.fee - (old.fee if old is not None else Decimal(0)),
        fee_currency=currency,
        liquidity="maker" if new.type == "limit" and old is not None else "taker",
        ts_ms=new.ts_ms,
    )


class OrderTracker:
    """The last known state of every order; reports each change once."""

    def __init__(self, report: Report, currency: str = "USDT") -> None:
        self._report = report
        self.currency = currency
        self.orders: dict[str, ExchangeOrder] = {}

    def get(self, client_order_id: str) -> ExchangeOrder | None:
        return self.orders.get(client_order_id)

    def open(self) -> list[ExchangeOrder]:
        """Orders last seen open."""
        return [o for o in self.orders.values() if not is_done(o)]

    async def observe(self, order: ExchangeOrder) -> ExchangeOrder:
        """Remember `order`; report it if its state changed. Returns it."""
        old = self.orders.get(order.client_order_id)
        if old is not None and _same(old, order):
            return order
        if old is not None and is_done(old) and not is_done(order):
            return old  # a stale answer: a finished order never reopens
        self.orders[order.client_order_id] = order
        await self._report(order, fill_between(old, order, self.currency))
        return order


def _same(a: ExchangeOrder, b: ExchangeOrder) -> bool:
    return (a.status, a.filled, a.average_price, a.fee) == (
        b.status,
        b.filled,
        b.average_price,
        b.fee,
    )


async def poll(source: OrderSource, tracker: OrderTracker) -> None:
    """One watcher round: fetch open orders, then settle every tracked order that left them."""
    still_open = {o.client_order_id for o in await source.fetch_open_orders()}
    for order in tracker.open():
        if order.client_order_id not in still_open:
            await source.fetch_order(order.client_order_id, order.symbol)
