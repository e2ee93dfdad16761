"""Stored optimizations and applied strategy parameters (SQLite).

`optimizations`: one row per finished job (headline columns plus the whole result as a zlib
JSON blob), written by the optimizer module and by `viper optimize`. `strategy_parameters`: an
append-only audit of parameters applied to the live strategy (who, when, from which job); the
newest row per strategy and symbol (or `*`) is what the live engine trades.
"""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from viper.errors import NotFoundError
from viper.optimizer.results import OptimizationResult
from viper.store.sqlite import Database

COMPONENT = "optimizer"
MIGRATIONS: tuple[str, ...] = (
    """CREATE TABLE optimizations (
        id TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL,
        source TEXT NOT NULL,
        method TEXT NOT NULL,
        strategy TEXT NOT NULL,
        symbols TEXT NOT NULL,
        timeframe TEXT NOT NULL,
        objective TEXT NOT NULL,
        best_value REAL,
        best_params TEXT,
        trials INTEGER NOT NULL,
        duration_seconds REAL NOT NULL,
        result BLOB NOT NULL
    )""",
    "CREATE INDEX optimizations_by_strategy ON optimizations (strategy, created_ms DESC)",
    """CREATE TABLE strategy_parameters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        strategy TEXT NOT NULL,
        symbol TEXT NOT NULL,
        params TEXT NOT NULL,
        source_job TEXT NOT NULL,
        actor TEXT NOT NULL,
        applied_ms INTEGER NOT NULL
    )""",
    "CREATE INDEX strategy_parameters_by_key ON strategy_parameters (strategy, symbol, seq DESC)",
)


class StoredBest(msgspec.Struct, frozen=True, kw_only=True):
    """The best stored result of a strategy on a symbol."""

    strategy: str
    symbol: str
    params: dict[str, Any]
    objective: str
    value: float
    job_id: str
    created_ms: int


class AppliedParameters(msgspec.Struct, frozen=True, kw_only=True):
    """Parameters applied to the live strategy; `symbol` "*" = every symbol."""

    strategy: str
    symbol: str
    params: dict[str, Any]
    source_job: str
    actor: str
    applied_ms: int


APPLIED_COLUMNS = "strategy, symbol, params, source_job, actor, applied_ms"


def applied_of(row: Sequence[Any]) -> AppliedParameters:
    """A `strategy_parameters` row, selected as `APPLIED_COLUMNS`."""
    return AppliedParameters(
        strategy=row[0],
        symbol=row[1],
        params=msgspec.json.decode(row[2]),
        source_job=row[3],
        actor=row[4],
        applied_ms=row[5],
    )


def in_effect(
    applied: Iterable[AppliedParameters], symbol: str, at_ms: int | None = None
) -> AppliedParameters | None:
    """The set `symbol` trades (at `at_ms`, default: now): the newest of its own sets and the
    `*` sets, its own winning a tie; None when none was applied (by then)."""
    sets = [
        a for a in applied if a.symbol in ("*", symbol) and (at_ms is None or a.applied_ms <= at_ms)
    ]
    return max(sets, key=lambda a: (a.applied_ms, a.symbol != "*")) if sets else None


class OptimizerStore:
    """The optimizer's tables of the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> None:
        """Create or upgrade the tables."""
        await self.db.migrate(COMPONENT, MIGRATIONS)

    async def save(self, result: OptimizationResult, source: str) -> None:
        """Store one finished optimization."""
        blob = await asyncio.to_thread(zlib.compress, msgspec.json.encode(result), 6)
        row = [
            result.id,
            result.created_ms,
            source,
            result.method,
            result.strategy,
            msgspec.json.encode(result.symbols).decode(),
            result.timeframe,
            result.objective,
            result.best_value,
            None
            if result.best_params is None
            else msgspec.json.encode(result.best_params).decode(),
            result.trials,
            result.duration_seconds,
            blob,
        ]

        def insert(conn: sqlite3.Connection) -> None:
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT OR REPLACE INTO optimizations VALUES ({marks})", row)

        await self.db.transaction(insert)

    async def result(self, job_id: str) -> OptimizationResult:
        """One stored result; NotFoundError when there is none."""
        rows = await self.db.execute("SELECT result FROM optimizations WHERE id = ?", (job_id,))
        if not rows:
            raise NotFoundError(f"no optimization result {job_id!r}")
        raw = await asyncio.to_thread(zlib.decompress, rows[0][0])
        return msgspec.json.decode(raw, type=OptimizationResult)

    async def best(self) -> list[StoredBest]:
        """The best stored parameters per strategy and symbol (highest objective value)."""
        rows = await self.db.execute(
            "SELECT o.strategy, s.value, o.best_params, o.objective, o.best_value, o.id, "
            "o.created_ms FROM optimizations o, json_each(o.symbols) s "
            "WHERE o.best_params IS NOT NULL AND o.best_value IS NOT NULL "
            "ORDER BY o.best_value DESC, o.created_ms DESC"
        )
        found: dict[tuple[str, str], StoredBest] = {}
        for strategy, symbol, params, objective, value, job, created in rows:
            found.setdefault(
                (strategy, symbol),
                StoredBest(
                    strategy=strategy,
                    symbol=symbol,
                    params=msgspec.json.decode(params),
                    objective=objective,
                    value=value,
                    job_id=job,
                    created_ms=created,
                ),
            )
        return sorted(found.values(), key=lambda b: (b.strategy, b.symbol))

    async def apply(self, applied: AppliedParameters) -> None:
        """Record parameters applied to the live strategy (append-only audit)."""
        await self.db.execute(
            "INSERT INTO strategy_parameters (strategy, symbol, params, source_job, actor, "
            "applied_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (
                applied.strategy,
                applied.symbol,
                msgspec.json.encode(applied.params).decode(),
                applied.source_job,
                applied.actor,
                applied.applied_ms,
            ),
        )

    async def applied(self) -> list[AppliedParameters]:
        """The newest applied parameters per strategy and symbol."""
        rows = await self.db.execute(
            f"SELECT {APPLIED_COLUMNS} FROM "
            "strategy_parameters p WHERE seq = (SELECT MAX(seq) FROM strategy_parameters q "
            "WHERE q.strategy = p.strategy AND q.symbol = p.symbol) ORDER BY strategy, symbol"
        )
        return [applied_of(r) for r in rows]
