"""The SQLite database (WAL) behind orders, fills, positions, results and alerts.

One connection, used from one worker thread, so async code never blocks the event loop and
writes are serialized. Work that queues up while a commit is on disk is committed together
(group commit): each caller's statements run in a savepoint of one transaction, so a failing
caller rolls back alone, and every caller is answered only after the shared COMMIT (with
`synchronous=FULL`) is durable. Modules create their tables through `migrate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from viper.errors import ConfigError, ConflictError

T = TypeVar("T")
MAX_BATCH = 256  # callers committed by one fsync at most
CHECKPOINT_SECONDS = 0.5  # the WAL is copied into the database file at most this often
WAL_LIMIT_BYTES = 64 * 2**20  # a WAL file larger than this is truncated once reset
_Work = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]


def _in_savepoint(
    conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]
) -> tuple[bool, Any]:
    """Run one caller's work in its own savepoint: (True, result) or (False, its error)."""
    conn.execute("SAVEPOINT work")
    try:
        value = fn(conn)
    except BaseException as exc:
        conn.execute("ROLLBACK TO work")
        conn.execute("RELEASE work")
        return False, exc
    conn.execute("RELEASE work")
    return True, value


def _alone(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]) -> tuple[bool, Any]:
    """Run the only caller's work of a transaction; its failure rolls the transaction back."""
    try:
        return True, fn(conn)
    except BaseException as exc:
        conn.execute("ROLLBACK")
        return False, exc


Answer = tuple["asyncio.Future[Any]", bool, Any]


def _deliver(answers: list[Answer]) -> None:
    """On the event loop: hand each caller its result, in commit order."""
    for future, ok, value in answers:
        if future.done():  # the caller gave up waiting
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _answer_all(answers: list[Answer]) -> None:
    """From the writer thread: one wake-up of each caller's loop per batch, not per caller."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
    for answer in answers:
        by_loop.setdefault(answer[0].get_loop(), []).append(answer)
    for loop, delivered in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
            loop.call_soon_threadsafe(_deliver, delivered)


def _commit_batch(conn: sqlite3.Connection, batch: list[_Work]) -> None:
    """One transaction for the whole batch; nobody hears back before COMMIT is on disk."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        if len(batch) == 1:  # alone: the transaction is its savepoint
            outcomes = [_alone(conn, batch[0][0])]
        else:
            outcomes = [_in_savepoint(conn, fn) for fn, _ in batch]
        if conn.in_transaction:
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        _answer_all([(future, False, exc) for _, future in batch])
        return
    _answer_all(
        [(future, ok, value) for (_, future), (ok, value) in zip(batch, outcomes, strict=True)]
    )


def _serve(
    conn: sqlite3.Connection,
    work: queue.SimpleQueue[_Work | None],
    committed: threading.Event | None = None,
) -> None:
    """The writer thread: take what has queued up (at most MAX_BATCH) and commit it together;
    `committed` is set after each batch (the checkpointer's cue)."""
    while True:
        item = work.get()
        if item is None:
            return
        batch, stop = [item], False
        while len(batch) < MAX_BATCH:
            try:
                following = work.get_nowait()
            except queue.Empty:
                break
            if following is None:
                stop = True
                break
            batch.append(following)
        _commit_batch(conn, batch)
        if committed is not None:
            committed.set()
        if stop:
            return


def _checkpoint(path: str, committed: threading.Event, stop: threading.Event) -> None:
    """The checkpointer thread: copies committed WAL pages into the database file from a
    connection of its own, at most every CHECKPOINT_SECONDS, so that no commit pays for a
    checkpoint (SQLite's automatic one runs inside the COMMIT that crosses its threshold: a
    multi-millisecond stall on the order path). PASSIVE never blocks the writer."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        while not stop.is_set():
            committed.wait()
            committed.clear()
            with contextlib.suppress(sqlite3.Error):  # busy: the next round catches up
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            stop.wait(CHECKPOINT_SECONDS)
    finally:
        conn.close()


def _close(conn: sqlite3.Connection) -> None:
    """Fold the WAL into the database file (as SQLite's own last close would) and close."""
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


class Database:
    """An SQLite file opened in WAL mode, written by one thread with group commit."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        self._committed = threading.Event()

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        """Create the file (and its folder) if needed, set the pragmas, start the writer."""
        if self._conn is not None:
            return
        try:
            conn = await asyncio.to_thread(self._connect)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"store.database: cannot open {self.path}: {exc}") from None
        self._queue = queue.SimpleQueue()
        committed: threading.Event | None = None
        if self.path != ":memory:":
            committed = self._committed = threading.Event()
            self._stop_checkpoints = threading.Event()
            self._checkpointer = threading.Thread(
                target=_checkpoint,
                args=(self.path, committed, self._stop_checkpoints),
                name="sqlite-checkpoint",
                daemon=True,
            )
            self._checkpointer.start()
        self._thread = threading.Thread(
            target=_serve, args=(conn, self._queue, committed), name="sqlite-writer", daemon=True
        )
        self._thread.start()
        self._conn = conn
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
        if self.path != ":memory:":
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
            conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        return conn

    def enqueue(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue `fn` as a transaction now and return what will hold its result once its
        commit is durable. Work is committed in the order it was queued, so a caller that
        must keep an order among its writes queues them in that order without waiting."""
        if self._conn is None:
            raise ConflictError("the database is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put((fn, future))
        return future

    async def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.enqueue(fn)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; returns its rows (empty for writes)."""

        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        return await self._submit(run)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows, all or nothing."""
        batch = list(rows)

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(sql, batch)

        await self._submit(run)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` all or nothing; it returns once its commit is durable."""
        return await self._submit(fn)

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
        """Finish the queued work, stop the writer and close the connection; safe twice."""
        conn, thread = self._conn, self._thread
        if conn is None:
            return
        self._conn, self._thread = None, None
        self._queue.put(None)
        if thread is not None:
            await asyncio.to_thread(thread.join)
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            self._stop_checkpoints.set()
            self._committed.set()  # wakes it if it waits for a commit
            await asyncio.to_thread(checkpointer.join)
        await asyncio.to_thread(_close, conn)
