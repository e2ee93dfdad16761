"""Sealed secrets: round trip, versions, a wrong master key, tampered and swapped rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.vault.conftest import file_key, table
from viper.clock import TestClock
from viper.errors import NotFoundError, ValidationError
from viper.store.sqlite import Database
from viper.vault.crypto import SecretUnreadableError, VaultKeyError
from viper.vault.keys import ENV_VAR, LoadedKey, MasterKey
from viper.vault.models import SecretMeta
from viper.vault.store import SecretVault

VALUE = "bg_live_9f8e7d6c5b4a"


def database_bytes(folder: Path) -> bytes:
    """The database file and its WAL, raw."""
    return b"".join(p.read_bytes() for p in folder.glob("viper.db*"))


async def test_round_trip_and_listing_without_values(vault: SecretVault, clock: TestClock) -> None:
    info, created = await vault.set("bitget.api_key", VALUE, SecretMeta(kind="exchange"))
    assert created and info.version == 1 and info.kind == "exchange"
    assert info.created_ms == clock.now_ms() and info.rotated_ms is None
    assert await vault.get("bitget.api_key") == VALUE
    assert await vault.get("missing") is None
    listed = await vault.listing()
    assert [s.name for s in listed] == ["bitget.api_key"]
    assert VALUE not in repr(listed)


async def test_each_write_is_a_new_version_under_a_fresh_nonce(
    vault: SecretVault, db: Database, clock: TestClock
) -> None:
    await vault.set("telegram.token", "first-value", SecretMeta(kind="alert", description="bot"))
    before = await table(db, "vault_secrets")
    clock.advance(5)
    info = await vault.rotate("telegram.token", "second-value")
    after = await table(db, "vault_secrets")
    assert info.version == 2 and info.rotated_ms == clock.now_ms()
    assert info.kind == "alert" and info.description == "bot"  # metadata kept
    assert await vault.get("telegram.token") == "second-value"
    assert before[0][3] != after[0][3]  # nonce column


async def test_values_never_reach_the_database_file_in_clear(
    vault: SecretVault, db: Database, tmp_path: Path
) -> None:
    await vault.set("bitget.api_secret", VALUE, SecretMeta(description="main account"))
    await db.close()
    raw = database_bytes(tmp_path)
    assert VALUE.encode() not in raw
    assert b"main account" in raw  # metadata is stored in clear, the value is not


async def test_rotate_and_delete_of_an_unknown_name_are_not_found(vault: SecretVault) -> None:
    with pytest.raises(NotFoundError):
        await vault.rotate("nope", "value-1234")
    with pytest.raises(NotFoundError):
        await vault.delete("nope")


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("bad name", "v-1234", "name"),
        ("", "v-1234", "name"),
        ("ok", "", "value"),
        ("ok", "   ", "value"),
        ("ok", "a" * 20_000, "value"),
    ],
)
async def test_bad_names_and_values_are_validation_errors_that_never_echo_the_value(
    vault: SecretVault, name: str, value: str, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await vault.set(name, value)
    assert info.value.field == field
    if value.strip():
        assert value not in info.value.detail


async def test_wrong_master_key_is_refused_and_changes_nothing(
    vault: SecretVault, db: Database, clock: TestClock
) -> None:
    await vault.set("bitget.api_key", VALUE)
    tables = {t: await table(db, t) for t in ("vault_meta", "vault_secrets", "vault_tokens")}
    wrong = LoadedKey(MasterKey.generate(), "env")
    with pytest.raises(VaultKeyError) as info:
        await SecretVault.open(db, wrong, clock)
    assert info.value.detail.startswith(ENV_VAR) and "does not open the vault" in info.value.detail
    assert {t: await table(db, t) for t in tables} == tables
    assert await (await SecretVault.open(db, vault.loaded, clock)).get("bitget.api_key") == VALUE


async def test_a_key_file_made_for_a_vault_sealed_under_another_key_is_removed(
    db: Database, tmp_path: Path, clock: TestClock
) -> None:
    env = LoadedKey(MasterKey.generate(), "env")
    await (await SecretVault.open(db, env, clock)).set("x.y", VALUE)
    fresh = file_key(tmp_path, "new.key")
    assert fresh.created
    with pytest.raises(VaultKeyError) as info:
        await SecretVault.open(db, fresh, clock)
    assert info.value.detail.startswith("vault.key_file:")
    assert not (tmp_path / "new.key").exists()


async def test_tampered_ciphertext_fails_authentication(vault: SecretVault, db: Database) -> None:
    await vault.set("bitget.api_key", VALUE)
    (ciphertext,) = (await db.execute("SELECT ciphertext FROM vault_secrets"))[0]
    flipped = bytes([ciphertext[0] ^ 1]) + bytes(ciphertext[1:])
    await db.execute("UPDATE vault_secrets SET ciphertext = ?", (flipped,))
    with pytest.raises(SecretUnreadableError) as info:
        await vault.get("bitget.api_key")
    assert "bitget.api_key" in info.value.detail and VALUE not in info.value.detail
    assert (await vault.values()) == ({}, ["bitget.api_key"])


async def test_swapped_rows_fail_to_decrypt(vault: SecretVault, db: Database) -> None:
    await vault.set("a.key", "value-of-a-1234")
    await vault.set("b.key", "value-of-b-5678")
    rows = {
        n: (c, v)
        for n, c, v in await db.execute("SELECT name, ciphertext, nonce FROM vault_secrets")
    }
    for name, other in (("a.key", "b.key"), ("b.key", "a.key")):
        await db.execute(
            "UPDATE vault_secrets SET ciphertext = ?, nonce = ? WHERE name = ?",
            (*rows[other], name),
        )
    for name in ("a.key", "b.key"):
        with pytest.raises(SecretUnreadableError):
            await vault.get(name)


async def test_a_row_moved_to_another_version_fails_to_decrypt(
    vault: SecretVault, db: Database
) -> None:
    await vault.set("a.key", "value-of-a-1234")
    await db.execute("UPDATE vault_secrets SET version = 7")
    with pytest.raises(SecretUnreadableError):
        await vault.get("a.key")


async def test_import_writes_only_when_the_value_changed(vault: SecretVault) -> None:
    meta = SecretMeta(kind="exchange")
    first = await vault.import_value("bitget.api_key", VALUE, meta)
    same = await vault.import_value("bitget.api_key", VALUE, meta)
    changed = await vault.import_value("bitget.api_key", VALUE + "-new", meta)
    assert first is not None and first.version == 1
    assert same is None
    assert changed is not None and changed.version == 2


async def test_delete_forgets_the_secret(vault: SecretVault) -> None:
    await vault.set("a.key", "value-of-a-1234")
    deleted = await vault.delete("a.key")
    assert deleted.name == "a.key" and await vault.get("a.key") is None
    assert await vault.versions() == {}
