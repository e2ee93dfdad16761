"""The paper exchange's state in SQLite: account, orders, positions, symbols, fills, funding.

Rows hold msgspec JSON (Decimals as exact strings). Each engine step is written in one
transaction, so a restart resumes exactly where the last committed step left off.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from viper.domain import Fill
from viper.modules.exchange.orders import Step
from viper.modules.exchange.state import (
    FundingPayment,
    PaperAccount,
    PaperOrder,
    PaperPosition,
    SymbolState,
)
from viper.store.sqlite import Database

COMPONENT = "exchange.paper"
MIGRATIONS: Sequence[str] = (
    "CREATE TABLE paper_account (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)",
    "CREATE TABLE paper_orders (client_order_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, "
    "symbol TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE paper_positions (symbol TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE paper_symbols (symbol TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE paper_fills (seq INTEGER PRIMARY KEY AUTOINCREMENT, fill_id TEXT UNIQUE "
    "NOT NULL, client_order_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE paper_funding (seq INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT NOT NULL, "
    "ts_ms INTEGER NOT NULL, body TEXT NOT NULL)",
)
UPSERT_ACCOUNT = (
    "INSERT INTO paper_account (id, body) VALUES (1, ?) "
    "ON CONFLICT(id) DO UPDATE SET body = excluded.body"
)
UPSERT_ORDER = (
    "INSERT INTO paper_orders (client_order_id, seq, symbol, status, body) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(client_order_id) DO UPDATE SET status = excluded.status, body = excluded.body"
)
UPSERT_POSITION = (
    "INSERT INTO paper_positions (symbol, body) VALUES (?, ?) "
    "ON CONFLICT(symbol) DO UPDATE SET body = excluded.body"
)
DELETE_POSITION = "DELETE FROM paper_positions WHERE symbol = ?"
UPSERT_SYMBOL = (
    "INSERT INTO paper_symbols (symbol, body) VALUES (?, ?) "
    "ON CONFLICT(symbol) DO UPDATE SET body = excluded.body"
)
INSERT_FILL = "INSERT INTO paper_fills (fill_id, client_order_id, ts_ms, body) VALUES (?, ?, ?, ?)"
INSERT_FUNDING = "INSERT INTO paper_funding (symbol, ts_ms, body) VALUES (?, ?, ?)"
_encode = msgspec.json.Encoder().encode


class PaperState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to rebuild the engine."""

    account: PaperAccount | None
    orders: list[PaperOrder]
    positions: list[PaperPosition]
    symbols: list[SymbolState]


def _rows(db_rows: list[tuple[Any, ...]], type_: type[Any]) -> list[Any]:
    decoder = msgspec.json.Decoder(type_)
    return [decoder.decode(row[0]) for row in db_rows]


class PaperStore:
    """Reads and writes the paper exchange's tables in the shared database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> None:
        await self.db.migrate(COMPONENT, MIGRATIONS)

    async def load(self) -> PaperState:
        """The state last committed (an empty account when there is none)."""
        account = await self.db.execute("SELECT body FROM paper_account WHERE id = 1")
        orders = await self.db.execute("SELECT body FROM paper_orders ORDER BY seq")
        positions = await self.db.execute("SELECT body FROM paper_positions ORDER BY symbol")
        symbols = await self.db.execute("SELECT body FROM paper_symbols ORDER BY symbol")
        return PaperState(
            account=_rows(account, PaperAccount)[0] if account else None,
            orders=_rows(orders, PaperOrder),
            positions=_rows(positions, PaperPosition),
            symbols=_rows(symbols, SymbolState),
        )

    async def fills(self, client_order_id: str | None = None) -> list[Fill]:
        """Every fill in the order it happened (of one order, when named)."""
        if client_order_id is None:
            rows = await self.db.execute("SELECT body FROM paper_fills ORDER BY seq")
        else:
            rows = await self.db.execute(
                "SELECT body FROM paper_fills WHERE client_order_id = ? ORDER BY seq",
                (client_order_id,),
            )
        return _rows(rows, Fill)

    async def funding(self) -> list[FundingPayment]:
        """Every funding settlement, oldest first."""
        rows = await self.db.execute("SELECT body FROM paper_funding ORDER BY seq")
        return _rows(rows, FundingPayment)

    async def save(self, step: Step) -> None:
        """Write one step in one transaction; returns once it is durable."""
        await self.queue_save(step)

    def queue_save(self, step: Step) -> asyncio.Future[None]:
        """Queue one step's transaction now (encoded here, before the worker thread runs);
        the future is done once it is durable. Steps queued in turn commit in turn."""
        account = _encode(step.account)
        orders = [(o.client_order_id, o.seq, o.symbol, o.status, _encode(o)) for o in step.orders]
        positions = [(s, _encode(p) if p is not None else None) for s, p in step.positions.items()]
        symbols = [(s.market.symbol, _encode(s)) for s in step.symbols]
        fills = [(f.fill_id, f.client_order_id, f.ts_ms, _encode(f)) for f in step.fills]
        funding = [(p.symbol, p.ts_ms, _encode(p)) for p in step.funding]

        writes: list[tuple[str, Sequence[tuple[Any, ...]]]] = [
            (UPSERT_ORDER, orders),
            (UPSERT_POSITION, [row for row in positions if row[1] is not None]),
            (DELETE_POSITION, [(s,) for s, body in positions if body is None]),
            (UPSERT_SYMBOL, symbols),
            (INSERT_FILL, fills),
            (INSERT_FUNDING, funding),
        ]
        writes = [(sql, rows) for sql, rows in writes if rows]  # a step changes few tables

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(UPSERT_ACCOUNT, (account,))
            for sql, rows in writes:
                conn.executemany(sql, rows)

        return self.db.enqueue(write)
