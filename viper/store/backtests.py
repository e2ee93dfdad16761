"""Stored backtest results: one summary row per backtest plus its full result as a zlib blob.

Written by the backtester module and by `viper backtest`, read by `/backtester/results`.
The blob is the `BacktestResult` JSON (trades and equity curve included), zlib-compressed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from typing import Any

import msgspec

from viper.errors import NotFoundError
from viper.store.sqlite import Database

COMPONENT = "backtester"
MIGRATIONS: tuple[str, ...] = (
    """CREATE TABLE backtests (
        id TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL,
        source TEXT NOT NULL,
        strategy TEXT NOT NULL,
        params TEXT NOT NULL,
        symbols TEXT NOT NULL,
        exchange TEXT NOT NULL,
        timeframe TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        initial_capital REAL NOT NULL,
        final_capital REAL NOT NULL,
        total_return REAL NOT NULL,
        win_rate REAL NOT NULL,
        max_drawdown REAL NOT NULL,
        total_trades INTEGER NOT NULL,
        sharpe_ratio REAL,
        sortino_ratio REAL,
        profit_factor REAL,
        cagr REAL,
        calmar REAL,
        exposure REAL NOT NULL,
        total_fees REAL NOT NULL,
        total_funding REAL NOT NULL,
        liquidations INTEGER NOT NULL,
        bars INTEGER NOT NULL,
        settings TEXT NOT NULL,
        config_id TEXT NOT NULL,
        result_hash TEXT NOT NULL,
        duration_seconds REAL NOT NULL,
        result BLOB NOT NULL
    )""",
    "CREATE INDEX backtests_by_created ON backtests (created_ms DESC, id DESC)",
    "CREATE INDEX backtests_by_strategy ON backtests (strategy, created_ms DESC)",
)


class BacktestSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One stored backtest: what was asked, the headline figures, and the keys to find it by.

    `config_id` hashes the settings (risk, fees, sizing, capital); `result_hash` is the
    engine's id of the inputs and data, equal for equal runs.
    """

    id: str
    created_ms: int
    source: str
    strategy: str
    params: dict[str, Any]
    symbols: list[str]
    exchange: str
    timeframe: str
    start_ms: int
    end_ms: int
    period_start: str
    period_end: str
    initial_capital: float
    final_capital: float
    total_return: float
    win_rate: float
    max_drawdown: float
    total_trades: int
    sharpe_ratio: float | None
    sortino_ratio: float | None
    profit_factor: float | None
    cagr: float | None
    calmar: float | None
    exposure: float
    total_fees: float
    total_funding: float
    liquidations: int
    bars: int
    settings: dict[str, Any]
    config_id: str
    result_hash: str
    duration_seconds: float


class ResultPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of summaries, newest first."""

    total: int
    limit: int
    offset: int
    results: list[BacktestSummary]


_FIELDS = tuple(f.name for f in msgspec.structs.fields(BacktestSummary))
_JSON_FIELDS = frozenset({"params", "symbols", "settings"})
_COLUMNS = ", ".join(_FIELDS)
_SYMBOL_FILTER = "EXISTS (SELECT 1 FROM json_each(backtests.symbols) WHERE value = ?)"


def compress(json_bytes: bytes) -> bytes:
    """The stored form of a result's JSON."""
    return zlib.compress(json_bytes, 6)


def _row(summary: BacktestSummary) -> list[Any]:
    return [
        msgspec.json.encode(getattr(summary, name)).decode()
        if name in _JSON_FIELDS
        else getattr(summary, name)
        for name in _FIELDS
    ]


def _summary(row: tuple[Any, ...]) -> BacktestSummary:
    values = {
        name: msgspec.json.decode(value) if name in _JSON_FIELDS else value
        for name, value in zip(_FIELDS, row, strict=True)
    }
    return BacktestSummary(**values)


class BacktestResults:
    """The `backtests` table of the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> None:
        """Create or upgrade the table."""
        await self.db.migrate(COMPONENT, MIGRATIONS)

    async def save(self, summary: BacktestSummary, blob: bytes) -> None:
        """Store one backtest; `blob` is the compressed result JSON (see `compress`)."""
        marks = ", ".join("?" for _ in range(len(_FIELDS) + 1))

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO backtests ({_COLUMNS}, result) VALUES ({marks})",
                [*_row(summary), blob],
            )

        await self.db.transaction(insert)

    async def page(
        self, limit: int, offset: int, strategy: str | None = None, symbol: str | None = None
    ) -> ResultPage:
        """Summaries, newest first, optionally of one strategy and/or one symbol."""
        where, args = [], []
        if strategy is not None:
            where.append("strategy = ?")
            args.append(strategy)
        if symbol is not None:
            where.append(_SYMBOL_FILTER)
            args.append(symbol)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = (await self.db.execute(f"SELECT COUNT(*) FROM backtests{clause}", args))[0][0]
        rows = await self.db.execute(
            f"SELECT {_COLUMNS} FROM backtests{clause} "
            "ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return ResultPage(
            total=total, limit=limit, offset=offset, results=[_summary(r) for r in rows]
        )

    async def summary(self, backtest_id: str) -> BacktestSummary:
        """One summary; NotFoundError when there is no such backtest."""
        rows = await self.db.execute(
            f"SELECT {_COLUMNS} FROM backtests WHERE id = ?", (backtest_id,)
        )
        if not rows:
            raise NotFoundError(f"no backtest result {backtest_id!r}")
        return _summary(rows[0])

    async def result_json(self, backtest_id: str) -> bytes:
        """The full result as JSON bytes; NotFoundError when there is no such backtest."""
        rows = await self.db.execute("SELECT result FROM backtests WHERE id = ?", (backtest_id,))
        if not rows:
            raise NotFoundError(f"no backtest result {backtest_id!r}")
        blob: bytes = rows[0][0]
        return await asyncio.to_thread(zlib.decompress, blob)

    async def exists(self, backtest_id: str) -> bool:
        """Whether a result with this id is stored."""
        rows = await self.db.execute("SELECT 1 FROM backtests WHERE id = ?", (backtest_id,))
        return bool(rows)
