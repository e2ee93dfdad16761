"""Fixtures of the vault's unit tests: SQLite in tmp_path, a key file beside it, an open vault."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from viper.clock import TestClock
from viper.config import VaultConfig
from viper.store.sqlite import Database
from viper.vault.keys import LoadedKey, load_master_key
from viper.vault.store import SecretVault


def file_key(tmp_path: Path, name: str = "vault.key") -> LoadedKey:
    """The key of `tmp_path/name`, created when missing."""
    return load_master_key(VaultConfig(key_file=str(tmp_path / name)), {})


async def table(db: Database, name: str) -> list[tuple[object, ...]]:
    """Every row of a table, in a stable order: for 'nothing changed' assertions."""
    return await db.execute(f"SELECT * FROM {name} ORDER BY 1")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "viper.db")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def vault(db: Database, tmp_path: Path, clock: TestClock) -> SecretVault:
    return await SecretVault.open(db, file_key(tmp_path), clock)
