"""The live engine's tables: every intent it sent (why, at which bar) and its managed positions.

`live_intents` joins the order journal on `orders.intent_id`, so parity can tell which bar an
order was decided at and why (signal, stop_loss, ...), and which intents the risk manager
refused. `live_positions` keeps protective levels across a restart (msgpack: levels may be NaN);
`live_markets` the order-size rules the engine traded under, for parity's backtest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import msgspec

from viper.domain import MarketInfo
from viper.events import OrderRequest, TradeIntent
from viper.modules.live.levels import Managed
from viper.store.sqlite import Database

COMPONENT = "live"
MIGRATIONS: tuple[str, ...] = (
    """CREATE TABLE live_intents (
        intent_id TEXT PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        purpose TEXT NOT NULL,
        reason TEXT NOT NULL,
        price REAL NOT NULL,
        stop_loss REAL,
        take_profit REAL,
        strategy TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'sent',
        detail TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL
    )""",
    "CREATE INDEX live_intents_symbol ON live_intents (symbol, ts_ms)",
    """CREATE TABLE live_positions (
        symbol TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        updated_ms INTEGER NOT NULL
    )""",
    """CREATE TABLE live_markets (
        symbol TEXT PRIMARY KEY,
        amount_step TEXT NOT NULL,
        min_amount TEXT NOT NULL,
        min_notional TEXT NOT NULL,
        price_step TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
    )""",
)
_INSERT = (
    "INSERT OR IGNORE INTO live_intents (intent_id, ts_ms, symbol, side, purpose, reason, price, "
    "stop_loss, take_profit, strategy, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class LiveJournal:
    """Intents and managed positions in the process database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def migrate(self) -> None:
        await self._db.migrate(COMPONENT, MIGRATIONS)

    async def intent(self, intent: TradeIntent, now_ms: int) -> None:
        """Record an intent sent to the risk manager."""
        await self._db.execute(
            _INSERT,
            (
                intent.intent_id,
                intent.ts_ms,
                intent.symbol,
                intent.side,
                intent.purpose,
                intent.reason,
                intent.price,
                intent.stop_loss,
                intent.take_profit,
                intent.strategy,
                now_ms,
            ),
        )

    async def protective(self, request: OrderRequest, strategy: str, now_ms: int) -> None:
        """Record a protective order (stop-loss or take-profit resting at the exchange)."""
        kind = request.intent_id.rsplit(":", 1)[-1]
        level = request.stop_price if request.stop_price is not None else request.price
        await self._db.execute(
            _INSERT,
            (
                request.intent_id,
                request.ts_ms,
                request.symbol,
                request.side,
                "exit",
                kind,
                float(level or 0),
                None,
                None,
                strategy,
                now_ms,
            ),
        )

    async def rejected(self, intent_id: str, reason: str, detail: str) -> None:
        """Mark an intent refused."""
        await self._db.execute(
            "UPDATE live_intents SET status = 'rejected', detail = ? WHERE intent_id = ?",
            (f"{reason}: {detail}" if detail else reason, intent_id),
        )

    async def save_positions(self, changed: Mapping[str, Managed | None], now_ms: int) -> None:
        """Write (or delete, for None) managed positions, all in one transaction."""
        upserts = [
            (symbol, msgspec.msgpack.encode(managed), now_ms)
            for symbol, managed in changed.items()
            if managed is not None
        ]
        deletes = [(symbol,) for symbol, managed in changed.items() if managed is None]
        if not upserts and not deletes:
            return

        def write(conn: sqlite3.Connection) -> None:
            if deletes:
                conn.executemany("DELETE FROM live_positions WHERE symbol = ?", deletes)
            if upserts:
                conn.executemany(
                    "INSERT INTO live_positions (symbol, value, updated_ms) VALUES (?, ?, ?) "
                    "ON CONFLICT(symbol) DO UPDATE SET value = excluded.value, "
                    "updated_ms = excluded.updated_ms",
                    upserts,
                )

        await self._db.transaction(write)

    async def markets(self, markets: Mapping[str, MarketInfo], now_ms: int) -> None:
        """Record the markets' order-size rules in force."""
        await self._db.executemany(
            "INSERT INTO live_markets (symbol, amount_step, min_amount, min_notional, price_step, "
            "updated_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(symbol) DO UPDATE SET "
            "amount_step = excluded.amount_step, min_amount = excluded.min_amount, "
            "min_notional = excluded.min_notional, price_step = excluded.price_step, "
            "updated_ms = excluded.updated_ms",
            [
                (
                    s,
                    str(m.amount_step),
                    str(m.min_amount),
                    str(m.min_notional),
                    str(m.price_step),
                    now_ms,
                )
                for s, m in markets.items()
            ],
        )

    async def positions(self) -> dict[str, Managed]:
        """Managed positions as last saved."""
        rows = await self._db.execute("SELECT symbol, value FROM live_positions")
        return {symbol: msgspec.msgpack.decode(raw, type=Managed) for symbol, raw in rows}
