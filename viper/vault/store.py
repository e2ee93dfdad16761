"""Named secrets sealed under the master key, one SQLite row each (the current version).

A value leaves the vault only through `get`. Every write seals a new version under a fresh
nonce, with the name and version as associated data, inside a transaction that first proves
the key still opens the vault (another process may have rotated the master key).
"""

from __future__ import annotations

import hmac
import sqlite3
from typing import Any

import msgspec

from viper.clock import Clock
from viper.errors import NotFoundError
from viper.store.sqlite import Database
from viper.vault.crypto import SealError, SecretUnreadableError, seal, secret_aad, unseal
from viper.vault.keys import KeySourceKind, LoadedKey, MasterKey
from viper.vault.models import SecretInfo, SecretMeta, check_name, check_value
from viper.vault.opening import current_key, open_vault

_COLUMNS = "name, version, created_ms, rotated_ms, metadata"
_UPSERT = (
    "INSERT INTO vault_secrets (name, version, ciphertext, nonce, created_ms, rotated_ms, metadata)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version,"
    " ciphertext = excluded.ciphertext, nonce = excluded.nonce,"
    " rotated_ms = excluded.rotated_ms, metadata = excluded.metadata"
)
_meta_decoder = msgspec.json.Decoder(SecretMeta)


def _meta(raw: str | bytes | None) -> SecretMeta:
    try:
        return _meta_decoder.decode(raw or b"{}")
    except msgspec.DecodeError:
        return SecretMeta(description="(unreadable metadata)")


def _info(row: tuple[Any, ...]) -> SecretInfo:
    name, version, created_ms, rotated_ms, metadata = row
    meta = _meta(metadata)
    return SecretInfo(
        name=name,
        version=version,
        kind=meta.kind,
        description=meta.description,
        created_ms=created_ms,
        rotated_ms=rotated_ms,
    )


class SecretVault:
    """Secrets sealed with AES-256-GCM under the master key; open one with `SecretVault.open`."""

    def __init__(
        self, db: Database, loaded: LoadedKey, key: MasterKey, pepper: bytes, clock: Clock
    ) -> None:
        self.db = db
        self.loaded = loaded
        self._key = key
        self._pepper = pepper
        self._clock = clock

    @classmethod
    async def open(cls, db: Database, loaded: LoadedKey, clock: Clock) -> SecretVault:
        """Migrate and open the vault in `db`; VaultKeyError when `loaded` does not open it."""
        key, pepper = await open_vault(db, loaded)
        return cls(db, loaded, key, pepper, clock)

    @property
    def source(self) -> KeySourceKind:
        """Where the master key came from: "env" or "file"."""
        return self.loaded.source

    @property
    def key(self) -> MasterKey:
        """The master key in use."""
        return self._key

    @property
    def pepper(self) -> bytes:
        """The secret that keys token hashes."""
        return self._pepper

    def use_key(self, key: MasterKey) -> None:
        """Switch to a new master key once the rows are sealed under it."""
        self._key = key

    async def get(self, name: str) -> str | None:
        """The value of `name`, or None; SecretUnreadableError when its row fails to open."""
        rows = await self.db.execute(
            "SELECT version, nonce, ciphertext FROM vault_secrets WHERE name = ?", (name,)
        )
        if not rows:
            return None
        version, nonce, ciphertext = rows[0]
        try:
            return _open(self._key, name, version, nonce, ciphertext)
        except SecretUnreadableError:
            if not await self._refresh_key():
                raise
            return _open(self._key, name, version, nonce, ciphertext)

    async def _refresh_key(self) -> bool:
        """Pick up a master key rotated by another process; True when the key changed."""
        old = self._key
        self._key = await self.db.transaction(lambda c: current_key(c, old, self.loaded))
        return self._key != old

    async def set(
        self, name: str, value: str, meta: SecretMeta | None = None
    ) -> tuple[SecretInfo, bool]:
        """Seal a new version of `name` (created when missing; metadata kept when `meta` is
        None); returns it and whether the secret is new."""
        return await self._write(check_name(name), check_value(value), meta, must_exist=False)

    async def rotate(self, name: str, value: str) -> SecretInfo:
        """Replace the value of an existing secret (NotFoundError when there is none)."""
        info, _ = await self._write(check_name(name), check_value(value), None, must_exist=True)
        return info

    async def import_value(self, name: str, value: str, meta: SecretMeta) -> SecretInfo | None:
        """Set `name` unless it already holds `value`; the new version, or None when unchanged."""
        try:
            current = await self.get(name)
        except SecretUnreadableError:
            current = None  # a damaged row is replaced by the value given
        if current is not None and hmac.compare_digest(current.encode(), value.encode()):
            return None
        info, _ = await self.set(name, value, meta)
        return info

    async def _write(
        self, name: str, value: str, meta: SecretMeta | None, *, must_exist: bool
    ) -> tuple[SecretInfo, bool]:
        now, plaintext = self._clock.now_ms(), value.encode("utf-8")

        def write(conn: sqlite3.Connection) -> tuple[MasterKey, SecretInfo, bool]:
            key = current_key(conn, self._key, self.loaded)
            row = conn.execute(
                "SELECT version, created_ms, metadata FROM vault_secrets WHERE name = ?", (name,)
            ).fetchone()
            if row is None and must_exist:
                raise NotFoundError(f"no secret named {name!r}", field="name")
            version = 1 if row is None else row[0] + 1
            created_ms, rotated_ms = (now, None) if row is None else (row[1], now)
            kept = meta or (_meta(row[2]) if row is not None else SecretMeta())
            nonce, ciphertext = seal(key, plaintext, secret_aad(name, version))
            encoded = msgspec.json.encode(kept).decode()
            conn.execute(
                _UPSERT, (name, version, ciphertext, nonce, created_ms, rotated_ms, encoded)
            )
            return key, _info((name, version, created_ms, rotated_ms, encoded)), row is None

        key, info, created = await self.db.transaction(write)
        self._key = key
        return info, created

    async def delete(self, name: str) -> SecretInfo:
        """Remove `name` for good; NotFoundError when there is no such secret."""
        check_name(name)

        def delete(conn: sqlite3.Connection) -> SecretInfo:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM vault_secrets WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no secret named {name!r}", field="name")
            conn.execute("DELETE FROM vault_secrets WHERE name = ?", (name,))
            return _info(row)

        return await self.db.transaction(delete)

    async def listing(self) -> list[SecretInfo]:
        """Every secret's name, version and metadata, by name; never a value."""
        rows = await self.db.execute(f"SELECT {_COLUMNS} FROM vault_secrets ORDER BY name")
        return [_info(row) for row in rows]

    async def versions(self) -> dict[str, int]:
        """The current version of every secret."""
        rows = await self.db.execute("SELECT name, version FROM vault_secrets")
        return {name: version for name, version in rows}

    async def values(self) -> tuple[dict[str, str], list[str]]:
        """Every readable value by name (for the log redactor), and the names that fail to open."""
        rows = await self.db.execute("SELECT name, version, nonce, ciphertext FROM vault_secrets")
        if rows:
            await self._refresh_key()
        found: dict[str, str] = {}
        broken: list[str] = []
        for name, version, nonce, ciphertext in rows:
            try:
                found[name] = _open(self._key, name, version, nonce, ciphertext)
            except SecretUnreadableError:
                broken.append(name)
        return found, sorted(broken)


def _open(key: MasterKey, name: str, version: int, nonce: bytes, ciphertext: bytes) -> str:
    try:
        return unseal(key, nonce, ciphertext, secret_aad(name, version)).decode("utf-8")
    except (SealError, UnicodeDecodeError):
        raise SecretUnreadableError(
            f"secret {name!r} (version {version}) fails authentication: its row was altered, "
            "swapped or damaged; set it again"
        ) from None
