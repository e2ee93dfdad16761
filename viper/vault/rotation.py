"""Master-key rotation: every secret, the key check and the token pepper re-sealed under a new
key in one transaction, then the key file replaced atomically.

The order makes a crash harmless: the next key is written beside the key file first; a crash
before the commit leaves the old key opening the old rows, and a crash after it leaves the
next key waiting in `<key_file>.new`, which the next start moves into place (see opening.py).
"""

from __future__ import annotations

import sqlite3

from viper.errors import ConfigError, ValidationError
from viper.vault.crypto import (
    KEY_CHECK,
    KEY_CHECK_AAD,
    PEPPER_AAD,
    SealError,
    SecretUnreadableError,
    seal,
    secret_aad,
    unseal,
)
from viper.vault.keys import (
    LoadedKey,
    MasterKey,
    commit_pending_key,
    discard_pending_key,
    pending_path,
    write_pending_key,
)
from viper.vault.opening import current_key, put_meta
from viper.vault.schema import KEY_CHECK_ROW, TOKEN_PEPPER
from viper.vault.store import SecretVault


async def rotate_master(vault: SecretVault, new_key: MasterKey | None = None) -> int:
    """Re-seal the whole vault under `new_key` (a fresh one when None); returns the number of
    secrets re-sealed. With a key file, the file holds the new key afterwards; with
    VIPER_MASTER_KEY, the caller must set the variable to the new key before the next start."""
    new = new_key or MasterKey.generate()
    if new == vault.key:
        raise ValidationError("the new master key is the key in use", field="key")
    loaded = vault.loaded
    path = loaded.path if loaded.source == "file" else None
    if path is not None:
        write_pending_key(path, new)
    old = vault.key
    try:
        count = await vault.db.transaction(lambda conn: _reseal(conn, old, new, loaded))
    except BaseException:
        if path is not None:
            discard_pending_key(path)
        raise
    vault.use_key(new)
    if path is not None:
        try:
            commit_pending_key(path)
        except OSError as exc:
            raise ConfigError(
                f"vault.key_file: the vault is re-sealed, but {path} could not be replaced "
                f"({exc.strerror}); the new key is in {pending_path(path)} and the next start "
                "moves it into place"
            ) from None
    return count


def _reseal(conn: sqlite3.Connection, old: MasterKey, new: MasterKey, loaded: LoadedKey) -> int:
    old = current_key(conn, old, loaded)
    rows = conn.execute("SELECT name, version, nonce, ciphertext FROM vault_secrets").fetchall()
    for name, version, nonce, ciphertext in rows:
        aad = secret_aad(name, version)
        try:
            plaintext = unseal(old, nonce, ciphertext, aad)
        except SealError:
            raise SecretUnreadableError(
                f"secret {name!r} fails authentication, so nothing was re-sealed: set or "
                "delete it, then rotate again"
            ) from None
        fresh_nonce, fresh = seal(new, plaintext, aad)
        conn.execute(
            "UPDATE vault_secrets SET nonce = ?, ciphertext = ? WHERE name = ?",
            (fresh_nonce, fresh, name),
        )
    row = conn.execute(
        "SELECT nonce, ciphertext FROM vault_meta WHERE key = ?", (TOKEN_PEPPER,)
    ).fetchone()
    try:
        pepper = unseal(old, row[0], row[1], PEPPER_AAD) if row else None
    except SealError:
        pepper = None
    if pepper is None:
        raise SecretUnreadableError("the token pepper is missing or altered; nothing was re-sealed")
    put_meta(conn, TOKEN_PEPPER, *seal(new, pepper, PEPPER_AAD))
    put_meta(conn, KEY_CHECK_ROW, *seal(new, KEY_CHECK, KEY_CHECK_AAD))
    return len(rows)
