"""What the journal holds, as Structs, and their conversion from and to table rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import msgspec

from viper.domain import Fill, Order, OrderState, OrderType, Side
from viper.modules.order.positions import PositionBook

Row = tuple[Any, ...]


class OrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An order as journaled: the shared `Order` plus where it came from and why it ended."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    state: OrderState = "pending"
    filled: Decimal = Decimal(0)
    average_price: Decimal | None = None
    exchange_order_id: str | None = None
    intent_id: str = ""
    parent_id: str | None = None
    reprice: int = 0
    reason: str = ""
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def remaining(self) -> Decimal:
        """Amount not filled yet."""
        return max(Decimal(0), self.amount - self.filled)

    def to_order(self) -> Order:
        """The shared `Order` noun, for events."""
        return Order(
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            amount=self.amount,
            price=self.price,
            stop_price=self.stop_price,
            reduce_only=self.reduce_only,
            post_only=self.post_only,
            state=self.state,
            filled=self.filled,
            average_price=self.average_price,
            exchange_order_id=self.exchange_order_id,
            created_ms=self.created_ms,
            updated_ms=self.updated_ms,
        )


class LifecycleEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One step in an order's history: a transition, or a fill."""

    seq: int
    ts_ms: int
    kind: Literal["transition", "fill"]
    old: str
    new: str
    detail: str = ""
    fill: Fill | None = None


class Lifecycle(msgspec.Struct, frozen=True, kw_only=True):
    """An order and its full history, oldest first."""

    order: OrderRecord
    entries: list[LifecycleEntry]


class OrderPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of orders, newest first; `total` counts every match."""

    total: int
    limit: int
    offset: int
    orders: list[OrderRecord]


def dec(value: str | None) -> Decimal | None:
    """A stored decimal, or None."""
    return None if value is None else Decimal(value)


def text(value: Decimal | None) -> str | None:
    """A decimal as stored, or None."""
    return None if value is None else str(value)


def order_from_row(row: Row) -> OrderRecord:
    """An `OrderRecord` from a row in `ORDER_COLUMNS` order."""
    return OrderRecord(
        client_order_id=row[0],
        symbol=row[1],
        side=row[2],
        type=row[3],
        amount=Decimal(row[4]),
        price=dec(row[5]),
        stop_price=dec(row[6]),
        reduce_only=bool(row[7]),
        post_only=bool(row[8]),
        state=row[9],
        filled=Decimal(row[10]),
        average_price=dec(row[11]),
        exchange_order_id=row[12],
        intent_id=row[13],
        parent_id=row[14],
        reprice=row[15],
        reason=row[16],
        created_ms=row[17],
        updated_ms=row[18],
    )


def order_to_row(order: OrderRecord) -> Row:
    """The row of an `OrderRecord`, in `ORDER_COLUMNS` order."""
    return (
        order.client_order_id,
        order.symbol,
        order.side,
        order.type,
        str(order.amount),
        text(order.price),
        text(order.stop_price),
        int(order.reduce_only),
        int(order.post_only),
        order.state,
        str(order.filled),
        text(order.average_price),
        order.exchange_order_id,
        order.intent_id,
        order.parent_id,
        order.reprice,
        order.reason,
        order.created_ms,
        order.updated_ms,
    )


def fill_from_row(row: Row) -> Fill:
    """A `Fill` from a row in `FILL_COLUMNS` order."""
    return Fill(
        fill_id=row[0],
        client_order_id=row[1],
        symbol=row[2],
        side=row[3],
        amount=Decimal(row[4]),
        price=Decimal(row[5]),
        fee=Decimal(row[6]),
        fee_currency=row[7],
        liquidity=row[8],
        ts_ms=row[9],
    )


def fill_to_row(fill: Fill) -> Row:
    """The row of a `Fill`, in `FILL_COLUMNS` order."""
    return (
        fill.fill_id,
        fill.client_order_id,
        fill.symbol,
        fill.side,
        str(fill.amount),
        str(fill.price),
        str(fill.fee),
        fill.fee_currency,
        fill.liquidity,
        fill.ts_ms,
    )


def book_from_row(row: Row) -> PositionBook:
    """A `PositionBook` from a row in `POSITION_COLUMNS` order."""
    return PositionBook(
        symbol=row[0],
        size=Decimal(row[1]),
        entry_price=Decimal(row[2]),
        realized_pnl=Decimal(row[3]),
        fees=Decimal(row[4]),
        adopted=bool(row[5]),
        updated_ms=row[6],
    )


def book_to_row(book: PositionBook) -> Row:
    """The row of a `PositionBook`, in `POSITION_COLUMNS` order."""
    return (
        book.symbol,
        str(book.size),
        str(book.entry_price),
        str(book.realized_pnl),
        str(book.fees),
        int(book.adopted),
        book.updated_ms,
    )
