"""Master-key rotation: one transaction, the key file replaced atomically, crash-safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.vault.conftest import file_key, table
from viper.clock import TestClock
from viper.errors import ValidationError
from viper.store.sqlite import Database
from viper.vault.crypto import SecretUnreadableError, VaultKeyError
from viper.vault.keys import LoadedKey, MasterKey, pending_path, read_key_file, write_pending_key
from viper.vault.rotation import _reseal, rotate_master
from viper.vault.store import SecretVault
from viper.vault.tokens import TokenStore

SECRETS = {"bitget.api_key": "key-1111", "bitget.api_secret": "secret-2222", "slack.hook": "h-3333"}


async def fill(vault: SecretVault) -> None:
    for name, value in SECRETS.items():
        await vault.set(name, value)


async def test_every_secret_opens_with_the_new_key_and_not_the_old(
    vault: SecretVault, db: Database, tmp_path: Path, clock: TestClock
) -> None:
    await fill(vault)
    tokens = TokenStore(db, vault.pepper, clock)
    issued = await tokens.issue("ci", ["read"])
    old = vault.key
    assert await rotate_master(vault) == len(SECRETS)
    new = read_key_file(tmp_path / "vault.key")
    assert new != old and vault.key == new
    assert not pending_path(tmp_path / "vault.key").exists()
    reopened = await SecretVault.open(db, LoadedKey(new, "env"), clock)
    assert {n: await reopened.get(n) for n in SECRETS} == SECRETS
    assert (await TokenStore(db, reopened.pepper, clock).verify(issued.token)).id == issued.id
    with pytest.raises(VaultKeyError):
        await SecretVault.open(db, LoadedKey(old, "env"), clock)


async def test_env_key_rotation_takes_the_given_key(db: Database, clock: TestClock) -> None:
    vault = await SecretVault.open(db, LoadedKey(MasterKey.generate(), "env"), clock)
    await fill(vault)
    given = MasterKey.generate()
    await rotate_master(vault, given)
    reopened = await SecretVault.open(db, LoadedKey(given, "env"), clock)
    assert await reopened.get("slack.hook") == SECRETS["slack.hook"]
    with pytest.raises(ValidationError):
        await rotate_master(vault, given)  # the key in use


async def test_a_damaged_row_stops_the_rotation_before_anything_changes(
    vault: SecretVault, db: Database, tmp_path: Path
) -> None:
    await fill(vault)
    await db.execute("UPDATE vault_secrets SET version = 9 WHERE name = 'slack.hook'")
    before = {t: await table(db, t) for t in ("vault_meta", "vault_secrets")}
    old = vault.key
    with pytest.raises(SecretUnreadableError) as info:
        await rotate_master(vault)
    assert "slack.hook" in info.value.detail
    assert {t: await table(db, t) for t in before} == before
    assert read_key_file(tmp_path / "vault.key") == old and vault.key == old
    assert not pending_path(tmp_path / "vault.key").exists()


async def test_a_crash_after_the_commit_is_finished_by_the_next_start(
    vault: SecretVault, db: Database, tmp_path: Path, clock: TestClock
) -> None:
    await fill(vault)
    path = tmp_path / "vault.key"
    new = MasterKey.generate()
    write_pending_key(path, new)
    await db.transaction(lambda conn: _reseal(conn, vault.key, new, vault.loaded))
    # ... and the process died before the key file was replaced.
    reopened = await SecretVault.open(db, file_key(tmp_path), clock)
    assert reopened.key == new and read_key_file(path) == new
    assert not pending_path(path).exists()
    assert await reopened.get("bitget.api_key") == SECRETS["bitget.api_key"]


async def test_a_crash_before_the_commit_keeps_the_old_key(
    vault: SecretVault, db: Database, tmp_path: Path, clock: TestClock
) -> None:
    await fill(vault)
    write_pending_key(tmp_path / "vault.key", MasterKey.generate())
    reopened = await SecretVault.open(db, file_key(tmp_path), clock)
    assert reopened.key == vault.key
    assert await reopened.get("slack.hook") == SECRETS["slack.hook"]


async def test_a_running_vault_follows_a_rotation_made_by_another_process(
    vault: SecretVault, db: Database, tmp_path: Path, clock: TestClock
) -> None:
    await fill(vault)
    other = await SecretVault.open(db, file_key(tmp_path), clock)
    await rotate_master(other)
    assert await vault.get("bitget.api_key") == SECRETS["bitget.api_key"]
    info, _ = await vault.set("late.write", "written-after-rotation")
    assert vault.key == other.key  # sealed under the new key, not the stale one
    assert await other.get("late.write") == "written-after-rotation"
    assert info.version == 1
