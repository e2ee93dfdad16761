"""SQLite store: WAL, versioned migrations, all-or-nothing transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from viper.errors import ConfigError, ConflictError
from viper.store.sqlite import Database

STEPS = [
    "CREATE TABLE orders (id TEXT PRIMARY KEY, qty REAL NOT NULL)",
    "CREATE INDEX orders_qty ON orders (qty)",
]


async def test_opens_in_wal_mode_and_creates_the_folder(tmp_path: Path) -> None:
    db = Database(tmp_path / "deep" / "viper.db")
    await db.open()
    assert (await db.execute("PRAGMA journal_mode"))[0][0] == "wal"
    await db.close()
    assert (tmp_path / "deep" / "viper.db").exists()


async def test_migrations_apply_once_and_resume_from_the_stored_version(tmp_path: Path) -> None:
    db = Database(tmp_path / "v.db")
    await db.open()
    assert await db.migrate("order", STEPS[:1]) == 1
    assert await db.migrate("order", STEPS) == 2  # only the new step runs
    assert await db.migrate("order", STEPS) == 2
    rows = await db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    assert ("orders_qty",) in rows
    await db.close()


async def test_a_failing_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    db = Database(tmp_path / "v.db")
    await db.open()
    await db.migrate("order", STEPS)

    def write_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO orders VALUES ('a', 1.0)")
        conn.execute("INSERT INTO orders VALUES ('a', 2.0)")  # duplicate key

    with pytest.raises(sqlite3.IntegrityError):
        await db.transaction(write_then_fail)
    assert await db.execute("SELECT COUNT(*) FROM orders") == [(0,)]
    await db.executemany("INSERT INTO orders VALUES (?, ?)", [("x", 1.0), ("y", 2.0)])
    assert await db.execute("SELECT COUNT(*) FROM orders") == [(2,)]
    await db.close()
    await db.close()


async def test_use_before_open_is_a_conflict() -> None:
    with pytest.raises(ConflictError):
        await Database(":memory:").execute("SELECT 1")


async def test_an_unopenable_path_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"store\.database"):
        await Database(blocker / "sub" / "v.db").open()


async def test_concurrent_callers_share_commits_and_a_failing_one_rolls_back_alone(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "v.db")
    await db.open()
    await db.migrate("order", STEPS)

    def insert(key: str) -> Callable[[sqlite3.Connection], str]:
        def run(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO orders VALUES (?, 1.0)", (key,))
            if key.startswith("bad"):
                conn.execute("INSERT INTO orders VALUES (?, 2.0)", (key,))  # duplicate key
            return key

        return run

    keys = [f"k{i}" for i in range(200)]
    results = await asyncio.gather(
        *(
            db.transaction(insert(k))
            for k in [*keys[:100], "bad", *keys[100:150], "bad2", "bad3", *keys[150:]]
        ),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 3
    assert all(isinstance(f, sqlite3.IntegrityError) for f in failures)
    assert sorted(r for r in results if isinstance(r, str)) == sorted(keys)
    rows = await db.execute("SELECT id FROM orders ORDER BY id")
    assert sorted(r[0] for r in rows) == sorted(keys)
    await db.close()
    with pytest.raises(ConflictError):
        await db.execute("SELECT 1")


async def test_a_lone_failing_transaction_rolls_back_and_the_next_one_commits(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "v.db")
    await db.open()
    await db.migrate("order", STEPS)

    def half(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO orders VALUES ('a', 1.0)")
        raise ValueError("half done")

    with pytest.raises(ValueError, match="half done"):
        await db.transaction(half)
    await db.execute("INSERT INTO orders VALUES ('b', 1.0)")
    assert await db.execute("SELECT id FROM orders") == [("b",)]
    await db.close()


async def test_commits_never_checkpoint_the_checkpointer_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    db = Database(path)
    await db.open()
    assert (await db.execute("PRAGMA wal_autocheckpoint"))[0][0] == 0
    await db.migrate("order", STEPS)
    for n in range(50):
        await db.execute("INSERT INTO orders VALUES (?, ?)", (f"k{n}", float(n)))
    for _ in range(200):  # the checkpointer copies the WAL into the file within a second
        probe = sqlite3.connect(path)
        try:
            if probe.execute("SELECT count(*) FROM orders").fetchone()[0] == 50:
                size = path.stat().st_size
                if size > 4096:  # pages beyond the header: the data reached the file
                    break
        finally:
            probe.close()
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the WAL was not checkpointed")
    await db.close()
    assert not (tmp_path / "v.db-wal").exists() or (tmp_path / "v.db-wal").stat().st_size == 0
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM orders").fetchone()[0] == 50
    check.close()
