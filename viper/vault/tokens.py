"""API tokens: issued once as `vpr_` + 32 random url-safe bytes, stored only as a keyed hash.

The hash is HMAC-SHA256 under the vault's pepper (32 random bytes sealed under the master
key). A slow KDF (scrypt, argon2) defends guessable passwords; these tokens carry 256 random
bits, so nothing can be guessed and a slow hash would only add milliseconds to every request.
The pepper means a copy of the database alone cannot even test a candidate token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Any, cast

import msgspec

from viper.clock import Clock
from viper.errors import AuthError, NotFoundError, ValidationError
from viper.protocols import SCOPE_RANK, TokenInfo, TokenScope
from viper.store.sqlite import Database
from viper.vault.models import IssuedToken

TOKEN_PREFIX = "vpr_"
TOKEN_BYTES = 32
MAX_EXPIRY_DAYS = 3650
DAY_MS = 86_400_000
# last_used is written at most this often per token, so verifying stays a read.
LAST_USED_EVERY_MS = 60_000
_TOKEN = re.compile(r"^vpr_[A-Za-z0-9_-]{43}$")
_COLUMNS = "id, name, scopes, created_ms, expires_ms, last_used_ms, revoked_ms"


def _info(row: tuple[Any, ...]) -> TokenInfo:
    token_id, name, scopes, created_ms, expires_ms, last_used_ms, revoked_ms = row
    return TokenInfo(
        id=token_id,
        name=name,
        scopes=cast(list[TokenScope], scopes.split(",")),
        created_ms=created_ms,
        expires_ms=expires_ms,
        last_used_ms=last_used_ms,
        revoked_ms=revoked_ms,
    )


def check_scopes(scopes: Iterable[str]) -> list[TokenScope]:
    """Known scopes, deduplicated, weakest first; a ValidationError naming `scopes` otherwise."""
    given = [s.strip() for s in scopes if s.strip()]
    unknown = [s for s in given if s not in SCOPE_RANK]
    if unknown or not given:
        problem = f"unknown {', '.join(map(repr, unknown))}" if unknown else "none given"
        raise ValidationError(f"scopes: {problem}; choose from read, trade, admin", field="scopes")
    return cast(list[TokenScope], sorted(set(given), key=SCOPE_RANK.__getitem__))


def check_token_name(name: str) -> str:
    """A token's label: 1-64 printable characters."""
    name = name.strip()
    if not 1 <= len(name) <= 64 or not name.isprintable():
        raise ValidationError("name: 1-64 printable characters", field="name")
    return name


class TokenStore:
    """Issues, lists, revokes and verifies API tokens."""

    def __init__(self, db: Database, pepper: bytes, clock: Clock) -> None:
        self._db = db
        self._pepper = pepper
        self._clock = clock

    def _digest(self, token: str) -> bytes:
        return hmac.new(self._pepper, token.encode("ascii"), hashlib.sha256).digest()

    async def issue(
        self, name: str, scopes: Iterable[str], expires_in_days: int | None = None
    ) -> IssuedToken:
        """A new token; the returned object is the only place the token ever appears."""
        label, granted = check_token_name(name), check_scopes(scopes)
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise ValidationError(
                f"expires_in_days: 1 to {MAX_EXPIRY_DAYS}, or none for no expiry",
                field="expires_in_days",
            )
        now = self._clock.now_ms()
        expires = now + expires_in_days * DAY_MS if expires_in_days is not None else None
        token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        token_id = secrets.token_hex(8)
        await self._db.execute(
            "INSERT INTO vault_tokens (id, name, hash, scopes, created_ms, expires_ms)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_id, label, self._digest(token), ",".join(granted), now, expires),
        )
        return IssuedToken(
            id=token_id,
            name=label,
            scopes=granted,
            created_ms=now,
            expires_ms=expires,
            token=token,
        )

    async def listing(self) -> list[TokenInfo]:
        """Every token (revoked ones too), newest first; never the token or its hash."""
        rows = await self._db.execute(
            f"SELECT {_COLUMNS} FROM vault_tokens ORDER BY created_ms DESC, id"
        )
        return [_info(row) for row in rows]

    async def active(self) -> int:
        """Tokens neither revoked nor expired."""
        rows = await self._db.execute(
            "SELECT count(*) FROM vault_tokens WHERE revoked_ms IS NULL"
            " AND (expires_ms IS NULL OR expires_ms > ?)",
            (self._clock.now_ms(),),
        )
        return int(rows[0][0])

    async def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token for good (again is harmless); NotFoundError when the id is unknown."""
        now = self._clock.now_ms()
        await self._db.execute(
            "UPDATE vault_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
            (now, token_id),
        )
        rows = await self._db.execute(
            f"SELECT {_COLUMNS} FROM vault_tokens WHERE id = ?", (token_id,)
        )
        if not rows:
            raise NotFoundError(f"no token with id {token_id!r}", field="id")
        return _info(rows[0])

    async def verify(self, token: str) -> TokenInfo:
        """The token's info; AuthError with `reason` malformed, unknown, revoked or expired."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise AuthError(
                f"malformed token: expected {TOKEN_PREFIX!r} and 43 url-safe characters",
                reason="malformed",
            )
        digest = self._digest(token)
        rows = await self._db.execute(
            f"SELECT {_COLUMNS}, hash FROM vault_tokens WHERE hash = ?", (digest,)
        )
        # The lookup is by a keyed hash nobody can steer; the comparison is constant-time.
        if not rows or not hmac.compare_digest(bytes(rows[0][-1]), digest):
            raise AuthError("unknown token", reason="unknown")
        info = _info(rows[0][:-1])
        now = self._clock.now_ms()
        if info.revoked_ms is not None:
            raise AuthError(f"token {info.id} was revoked", reason="revoked")
        if info.expires_ms is not None and now >= info.expires_ms:
            raise AuthError(f"token {info.id} expired", reason="expired")
        if info.last_used_ms is None or now - info.last_used_ms >= LAST_USED_EVERY_MS:
            await self._db.execute(
                "UPDATE vault_tokens SET last_used_ms = ? WHERE id = ?", (now, info.id)
            )
            info = msgspec.structs.replace(info, last_used_ms=now)
        return info
