"""The audit log: every call that may change something (any method but GET, HEAD, OPTIONS),
with who made it, what it was, how it ended and when, in the SQLite `audit` table.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from viper.auth.principal import Principal
from viper.clock import Clock
from viper.store.sqlite import Database

ANONYMOUS = "anonymous"
_NOBODY = ("", ANONYMOUS, "none")  # token id, name, via of a call made without a token
MIGRATIONS = (
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_ms INTEGER NOT NULL,"
    " token_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " via TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " path TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " request_id TEXT NOT NULL,"
    " client TEXT NOT NULL)",
    "CREATE INDEX audit_ts ON audit (ts_ms)",
    "CREATE INDEX audit_token ON audit (token_id, ts_ms)",
)
_COLUMNS = "id, ts_ms, token_id, name, via, method, path, status, request_id, client"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One audited call: who (`token_id` empty and `name` "anonymous" without a token), what,
    how it ended, and when (`ts_ms`)."""

    id: int
    ts_ms: int
    token_id: str
    name: str
    via: str
    method: str
    path: str
    status: int
    request_id: str
    client: str


class AuditQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A page of the audit log, newest first; `token_id` keeps one token's calls."""

    limit: Annotated[int, Meta(ge=1, le=1000)] = 100
    offset: Annotated[int, Meta(ge=0)] = 0
    token_id: str | None = None


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    """Entries of one page, with the total that matched."""

    total: int
    limit: int
    offset: int
    entries: list[AuditEntry]


class AuditLog:
    """Writes and pages the `audit` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def open(self) -> None:
        """Create the table (once per database)."""
        await self._db.migrate("audit", MIGRATIONS)

    async def record(
        self,
        principal: Principal | None,
        *,
        method: str,
        path: str,
        status: int,
        request_id: str,
        client: str,
    ) -> None:
        """Write one entry, stamped now."""
        who = (principal.token_id, principal.name, principal.via) if principal else _NOBODY
        await self._db.execute(
            f"INSERT INTO audit ({_COLUMNS.removeprefix('id, ')})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._clock.now_ms(), *who, method, path, status, request_id, client),
        )

    async def page(self, query: AuditQuery) -> AuditPage:
        """A page of entries, newest first."""
        where, params = ("WHERE token_id = ?", [query.token_id]) if query.token_id else ("", [])
        total = (await self._db.execute(f"SELECT count(*) FROM audit {where}", params))[0][0]
        rows = await self._db.execute(
            f"SELECT {_COLUMNS} FROM audit {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset],
        )
        entries = [AuditEntry(**dict(zip(_COLUMNS.split(", "), row, strict=True))) for row in rows]
        return AuditPage(total=total, limit=query.limit, offset=query.offset, entries=entries)
