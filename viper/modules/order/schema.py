"""The order journal's tables (component "order" in `Database.migrate`).

Amounts and prices are stored as decimal TEXT, so nothing is ever rounded by a float.
`order_events` keeps each order's whole history in one sequence: its transitions and, as
rows of kind "fill", the fills that moved it.
"""

from __future__ import annotations

COMPONENT = "order"

MIGRATIONS: tuple[str, ...] = (
    """CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        type TEXT NOT NULL,
        amount TEXT NOT NULL,
        price TEXT,
        stop_price TEXT,
        reduce_only INTEGER NOT NULL DEFAULT 0,
        post_only INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        filled TEXT NOT NULL DEFAULT '0',
        average_price TEXT,
        exchange_order_id TEXT,
        intent_id TEXT NOT NULL DEFAULT '',
        parent_id TEXT,
        reprice INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    )""",
    "CREATE INDEX orders_state ON orders (state)",
    "CREATE INDEX orders_created ON orders (created_ms)",
    "CREATE INDEX orders_symbol ON orders (symbol, created_ms)",
    """CREATE TABLE order_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        ts_ms INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'transition',
        old TEXT NOT NULL,
        new TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        fill_id TEXT
    )""",
    "CREATE INDEX order_events_order ON order_events (client_order_id, seq)",
    """CREATE TABLE fills (
        fill_id TEXT PRIMARY KEY,
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        amount TEXT NOT NULL,
        price TEXT NOT NULL,
        fee TEXT NOT NULL,
        fee_currency TEXT NOT NULL,
        liquidity TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        synthetic INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX fills_order ON fills (client_order_id)",
    """CREATE TABLE positions (
        symbol TEXT PRIMARY KEY,
        size TEXT NOT NULL,
        entry_price TEXT NOT NULL,
        realized_pnl TEXT NOT NULL,
        fees TEXT NOT NULL,
        adopted INTEGER NOT NULL DEFAULT 0,
        updated_ms INTEGER NOT NULL
    )""",
)

ORDER_COLUMNS = (
    "client_order_id, symbol, side, type, amount, price, stop_price, reduce_only, post_only, "
    "state, filled, average_price, exchange_order_id, intent_id, parent_id, reprice, reason, "
    "created_ms, updated_ms"
)
FILL_COLUMNS = (
    "fill_id, client_order_id, symbol, side, amount, price, fee, fee_currency, liquidity, ts_ms"
)
POSITION_COLUMNS = "symbol, size, entry_price, realized_pnl, fees, adopted, updated_ms"
