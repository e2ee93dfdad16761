"""The vault's SQLite tables, migrated under the component name "vault".

`vault_meta` holds sealed vault-wide values (the key check, the token pepper); each secret is
one row of `vault_secrets` (the current version only); tokens keep only a keyed hash.
"""

from __future__ import annotations

COMPONENT = "vault"
KEY_CHECK_ROW = "key_check"
TOKEN_PEPPER = "token_pepper"

MIGRATIONS: tuple[str, ...] = (
    "CREATE TABLE vault_meta ("
    " key TEXT PRIMARY KEY, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)",
    "CREATE TABLE vault_secrets ("
    " name TEXT PRIMARY KEY, version INTEGER NOT NULL CHECK (version > 0),"
    " ciphertext BLOB NOT NULL, nonce BLOB NOT NULL, created_ms INTEGER NOT NULL,"
    " rotated_ms INTEGER, metadata TEXT NOT NULL DEFAULT '{}')",
    "CREATE TABLE vault_tokens ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, scopes TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, expires_ms INTEGER, last_used_ms INTEGER, revoked_ms INTEGER)",
)
