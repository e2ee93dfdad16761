"""Reads of the order journal: one order, filtered pages, an order's lifecycle, positions."""

from __future__ import annotations

from typing import Any

from viper.domain import TERMINAL_ORDER_STATES
from viper.modules.order.positions import PositionBook
from viper.modules.order.records import (
    Lifecycle,
    LifecycleEntry,
    OrderPage,
    OrderRecord,
    book_from_row,
    fill_from_row,
    order_from_row,
)
from viper.modules.order.schema import FILL_COLUMNS, ORDER_COLUMNS, POSITION_COLUMNS
from viper.store.sqlite import Database

_TERMINAL = tuple(sorted(TERMINAL_ORDER_STATES))
_NOT_TERMINAL = f"state NOT IN ({', '.join('?' * len(_TERMINAL))})"


async def get_order(db: Database, client_order_id: str) -> OrderRecord | None:
    """One order, or None."""
    rows = await db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_order_id = ?", (client_order_id,)
    )
    return order_from_row(rows[0]) if rows else None


async def page_orders(
    db: Database,
    *,
    symbol: str | None = None,
    state: str | None = None,
    side: str | None = None,
    since_ms: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> OrderPage:
    """Orders matching every given filter, newest first, `limit` from `offset`."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("symbol", symbol), ("state", state), ("side", side)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since_ms is not None:
        clauses.append("created_ms >= ?")
        params.append(since_ms)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    total = (await db.execute(f"SELECT COUNT(*) FROM orders {where}", params))[0][0]
    rows = await db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders {where} "
        "ORDER BY created_ms DESC, rowid DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return OrderPage(
        total=total, limit=limit, offset=offset, orders=[order_from_row(r) for r in rows]
    )


async def lifecycle(db: Database, client_order_id: str) -> Lifecycle | None:
    """An order with its transitions and fills in the order they happened; None if unknown."""
    order = await get_order(db, client_order_id)
    if order is None:
        return None
    fills = {
        row[0]: fill_from_row(row)
        for row in await db.execute(
            f"SELECT {FILL_COLUMNS} FROM fills WHERE client_order_id = ?", (client_order_id,)
        )
    }
    rows = await db.execute(
        "SELECT seq, ts_ms, kind, old, new, detail, fill_id FROM order_events "
        "WHERE client_order_id = ? ORDER BY seq",
        (client_order_id,),
    )
    entries = [
        LifecycleEntry(
            seq=seq,
            ts_ms=ts_ms,
            kind=kind,
            old=old,
            new=new,
            detail=detail,
            fill=fills.get(fill_id) if fill_id else None,
        )
        for seq, ts_ms, kind, old, new, detail, fill_id in rows
    ]
    return Lifecycle(order=order, entries=entries)


async def non_terminal_orders(db: Database) -> list[OrderRecord]:
    """Every order not yet filled, cancelled, rejected or expired, oldest first."""
    rows = await db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE {_NOT_TERMINAL} ORDER BY created_ms, rowid",
        _TERMINAL,
    )
    return [order_from_row(r) for r in rows]


async def positions(db: Database) -> list[PositionBook]:
    """Every position the journal holds (flat ones included), by symbol."""
    rows = await db.execute(f"SELECT {POSITION_COLUMNS} FROM positions ORDER BY symbol")
    return [book_from_row(r) for r in rows]


async def position(db: Database, symbol: str) -> PositionBook:
    """The journal's position in `symbol` (flat when it has none)."""
    rows = await db.execute(f"SELECT {POSITION_COLUMNS} FROM positions WHERE symbol = ?", (symbol,))
    return book_from_row(rows[0]) if rows else PositionBook(symbol=symbol)
