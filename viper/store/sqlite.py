"""The SQLite database (WAL) behind orders, fills, positions, results and alerts.

One connection, used from one worker thread, so async code never blocks the event loop and
writes are serialized. Modules create their tables through `migrate`, versioned per component.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from viper.errors import ConfigError, ConflictError

T = TypeVar("T")


class Database:
    """An SQLite file opened in WAL mode, reached through a single worker thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        """Create the file (and its folder) if needed and set the pragmas."""
        if self._conn is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            self._conn = await self._submit(self._connect)
        except (sqlite3.Error, OSError) as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise ConfigError(f"store.database: cannot open {self.path}: {exc}") from None
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def _submit(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise ConflictError("the database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ConflictError("the database is not open")
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; returns its rows (empty for writes)."""

        def run() -> list[tuple[Any, ...]]:
            return self._require().execute(sql, params).fetchall()

        return await self._submit(run)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows in one transaction."""
        batch = list(rows)

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(sql, batch)

        await self.transaction(run)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` inside BEGIN IMMEDIATE .. COMMIT; any error rolls it all back."""

        def run() -> T:
            conn = self._require()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._submit(run)

    async def migrate(self, component: str, steps: Sequence[str]) -> int:
        """Apply the statements of `steps` not yet applied for `component`; returns the version."""

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT version FROM schema_version WHERE component = ?", (component,)
            ).fetchone()
            version = row[0] if row else 0
            for step in steps[version:]:
                conn.execute(step)
            conn.execute(
                "INSERT INTO schema_version (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(steps)),
            )
            return len(steps)

        return await self.transaction(run)

    async def close(self) -> None:
        """Close the connection and its thread; safe twice."""
        if self._conn is None or self._executor is None:
            return
        conn, executor = self._conn, self._executor
        await self._submit(conn.close)
        self._conn = None
        self._executor = None
        executor.shutdown(wait=True)
