"""Opening a vault: prove the master key opens it (or seal a new one's key check), finish a
master-key rotation that was interrupted after its commit, and unseal the token pepper.

A key that does not open the vault changes nothing: no row is read, written or imported.
"""

from __future__ import annotations

import secrets
import sqlite3

from viper.errors import ConfigError
from viper.store.sqlite import Database
from viper.vault.crypto import (
    KEY_CHECK,
    KEY_CHECK_AAD,
    PEPPER_AAD,
    SealError,
    SecretUnreadableError,
    VaultKeyError,
    opens,
    seal,
    unseal,
)
from viper.vault.keys import (
    LoadedKey,
    MasterKey,
    commit_pending_key,
    read_key_file,
    read_pending_key,
)
from viper.vault.schema import COMPONENT, KEY_CHECK_ROW, MIGRATIONS, TOKEN_PEPPER

PEPPER_BYTES = 32


async def open_vault(db: Database, loaded: LoadedKey) -> tuple[MasterKey, bytes]:
    """The master key that opens the vault in `db` (a new vault is sealed under `loaded`),
    and the vault's token pepper."""
    await db.migrate(COMPONENT, MIGRATIONS)
    nonce, ciphertext, created = await db.transaction(lambda c: _ensure_check(c, loaded.key))
    key = loaded.key if created else _settle(db, loaded, nonce, ciphertext)
    rows = await db.execute(
        "SELECT nonce, ciphertext FROM vault_meta WHERE key = ?", (TOKEN_PEPPER,)
    )
    try:
        if not rows:
            raise SealError("missing")
        pepper = unseal(key, rows[0][0], rows[0][1], PEPPER_AAD)
    except SealError:
        raise SecretUnreadableError(
            f"vault in {db.path}: the token pepper is missing or altered; tokens cannot be checked"
        ) from None
    return key, pepper


def _ensure_check(conn: sqlite3.Connection, key: MasterKey) -> tuple[bytes, bytes, bool]:
    """The stored key check, sealing one (and a pepper) under `key` for a new vault."""
    row = conn.execute(
        "SELECT nonce, ciphertext FROM vault_meta WHERE key = ?", (KEY_CHECK_ROW,)
    ).fetchone()
    if row is not None:
        return bytes(row[0]), bytes(row[1]), False
    in_use = conn.execute(
        "SELECT 1 FROM vault_secrets UNION ALL SELECT 1 FROM vault_tokens LIMIT 1"
    ).fetchone()
    if in_use:
        raise VaultKeyError("the vault holds secrets but its key check is gone: it was altered")
    nonce, ciphertext = seal(key, KEY_CHECK, KEY_CHECK_AAD)
    put_meta(conn, KEY_CHECK_ROW, nonce, ciphertext)
    put_meta(conn, TOKEN_PEPPER, *seal(key, secrets.token_bytes(PEPPER_BYTES), PEPPER_AAD))
    return nonce, ciphertext, True


def _settle(db: Database, loaded: LoadedKey, nonce: bytes, ciphertext: bytes) -> MasterKey:
    """`loaded.key` when it opens the vault; the pending key of a committed rotation, moved
    into place; else a VaultKeyError (and a key file made by this start is removed)."""
    if opens(loaded.key, nonce, ciphertext):
        return loaded.key
    if loaded.source == "file" and loaded.path is not None:
        pending = read_pending_key(loaded.path)
        if pending is not None and opens(pending, nonce, ciphertext):
            commit_pending_key(loaded.path)  # the database was re-encrypted: finish the rotation
            return pending
        if loaded.created:  # a key made just now for a vault sealed under another: undo it
            loaded.path.unlink(missing_ok=True)
            raise VaultKeyError(
                f"vault.key_file: {loaded.path} was missing, but the vault in {db.path} is "
                f"sealed under another master key: restore that key file or set VIPER_MASTER_KEY"
            )
    raise VaultKeyError(
        f"{loaded.describe()}: this master key does not open the vault in {db.path} (it is "
        "sealed under another key); nothing was read or changed"
    )


def current_key(conn: sqlite3.Connection, key: MasterKey, loaded: LoadedKey) -> MasterKey:
    """`key` while it opens the vault; after another process rotated the master key, the key
    file's new key; a VaultKeyError when neither opens it (for a write that must not go on)."""
    row = conn.execute(
        "SELECT nonce, ciphertext FROM vault_meta WHERE key = ?", (KEY_CHECK_ROW,)
    ).fetchone()
    if row is None:
        raise VaultKeyError("the vault's key check is gone: the database was altered")
    if opens(key, row[0], row[1]):
        return key
    if loaded.source == "file" and loaded.path is not None:
        try:
            fresh = read_key_file(loaded.path)
        except ConfigError:
            fresh = None
        if fresh is not None and opens(fresh, row[0], row[1]):
            return fresh
    raise VaultKeyError(
        f"{loaded.describe()}: the vault was re-keyed by another process; restart with the new key"
    )


def put_meta(conn: sqlite3.Connection, key: str, nonce: bytes, ciphertext: bytes) -> None:
    """Store one sealed vault-wide value."""
    conn.execute(
        "INSERT INTO vault_meta (key, nonce, ciphertext) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
        (key, nonce, ciphertext),
    )
