"""Read-only views of the order journal's tables, as the synchronizer needs them.

The order module owns and writes these tables (same SQLite file); the synchronizer only
reads them, and asks for corrections through events.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from viper.store.sqlite import Database

# States in which the journal believes the exchange holds the order.
LIVE_STATES = ("submitted", "open", "partially_filled")


class JournalOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A live order as the journal holds it."""

    client_order_id: str
    symbol: str
    side: str
    state: str
    amount: Decimal
    filled: Decimal
    created_ms: int
    updated_ms: int


class UnrecordedFills(msgspec.Struct, frozen=True, kw_only=True):
    """An order whose reported filled amount is more than the fills the journal recorded."""

    client_order_id: str
    symbol: str
    filled: Decimal
    recorded: Decimal


class JournalPosition(msgspec.Struct, frozen=True, kw_only=True):
    """The journal's position in one symbol; `size` is signed (long > 0)."""

    symbol: str
    size: Decimal
    entry_price: Decimal


async def live_orders(db: Database) -> list[JournalOrder]:
    """Orders the journal believes are at the exchange and not finished."""
    marks = ", ".join("?" * len(LIVE_STATES))
    rows = await db.execute(
        "SELECT client_order_id, symbol, side, state, amount, filled, created_ms, updated_ms "
        f"FROM orders WHERE state IN ({marks}) ORDER BY created_ms",
        LIVE_STATES,
    )
    return [
        JournalOrder(
            client_order_id=cid,
            symbol=symbol,
            side=side,
            state=state,
            amount=Decimal(amount),
            filled=Decimal(filled),
            created_ms=created_ms,
            updated_ms=updated_ms,
        )
        for cid, symbol, side, state, amount, filled, created_ms, updated_ms in rows
    ]


async def positions(db: Database) -> dict[str, JournalPosition]:
    """The journal's non-flat positions by symbol."""
    rows = await db.execute("SELECT symbol, size, entry_price FROM positions")
    found = {
        symbol: JournalPosition(symbol=symbol, size=Decimal(size), entry_price=Decimal(entry))
        for symbol, size, entry in rows
    }
    return {symbol: p for symbol, p in found.items() if p.size != 0}


async def states_of(db: Database, client_order_ids: list[str]) -> dict[str, str]:
    """The journal state of each of these orders it knows."""
    found: dict[str, str] = {}
    for start in range(0, len(client_order_ids), 500):
        chunk = client_order_ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = await db.execute(
            f"SELECT client_order_id, state FROM orders WHERE client_order_id IN ({marks})", chunk
        )
        found.update({cid: state for cid, state in rows})
    return found


async def unrecorded_fills(db: Database, since_ms: int) -> list[UnrecordedFills]:
    """Orders updated since `since_ms` whose recorded fills fall short of their filled amount."""
    rows = await db.execute(
        "SELECT o.client_order_id, o.symbol, o.filled, group_concat(f.amount, ' ') "
        "FROM orders o LEFT JOIN fills f ON f.client_order_id = o.client_order_id "
        "WHERE o.updated_ms >= ? AND o.filled != '0' GROUP BY o.client_order_id",
        (since_ms,),
    )
    found = []
    for cid, symbol, filled, amounts in rows:
        recorded = sum((Decimal(a) for a in (amounts or "").split()), Decimal(0))
        if Decimal(filled) > recorded:
            found.append(
                UnrecordedFills(
                    client_order_id=cid, symbol=symbol, filled=Decimal(filled), recorded=recorded
                )
            )
    return found
