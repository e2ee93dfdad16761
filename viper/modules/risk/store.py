"""What the risk manager keeps in SQLite: kill switch, day and peak equity, limits, audit, refusals.

State is one JSON document per key in `risk_state`, so a restart stays halted, keeps the day's
starting equity and the equity peak, and keeps limits changed over the API. Every change made
by a person is a row in `risk_audit`; every refused intent a row in `risk_rejections` (parity
reads them to explain trades the backtest made and live did not).
"""

from __future__ import annotations

from typing import Any

import msgspec

from viper.config import RiskConfig
from viper.store.sqlite import Database

COMPONENT = "risk"
MIGRATIONS: tuple[str, ...] = (
    """CREATE TABLE risk_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
    )""",
    """CREATE TABLE risk_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        key TEXT NOT NULL,
        old TEXT NOT NULL,
        new TEXT NOT NULL
    )""",
    """CREATE TABLE risk_rejections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ms INTEGER NOT NULL,
        intent_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        purpose TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX risk_rejections_symbol ON risk_rejections (symbol, ts_ms)",
)


class KillSwitch(msgspec.Struct, frozen=True, kw_only=True):
    """Halted or not, why, since when and by whom."""

    halted: bool = False
    reason: str = ""
    since_ms: int | None = None
    actor: str = ""


class DayState(msgspec.Struct, frozen=True, kw_only=True):
    """The UTC day (days since the epoch), its starting equity, and the daily-loss block."""

    day: int = -1
    start_equity: float = 0.0
    blocked: bool = False


class RiskState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the risk manager persists."""

    kill_switch: KillSwitch = msgspec.field(default_factory=KillSwitch)
    day: DayState = msgspec.field(default_factory=DayState)
    peak_equity: float = 0.0
    limits: RiskConfig | None = None


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One audited change."""

    id: int
    ts_ms: int
    actor: str
    action: str
    key: str
    old: Any
    new: Any


_FIELDS = {"kill_switch": KillSwitch, "day": DayState, "peak_equity": float, "limits": RiskConfig}


class RiskStore:
    """The risk manager's tables in the process database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def migrate(self) -> None:
        await self._db.migrate(COMPONENT, MIGRATIONS)

    async def load(self) -> RiskState:
        """The persisted state (defaults for what was never saved)."""
        rows = await self._db.execute("SELECT key, value FROM risk_state")
        values: dict[str, Any] = {}
        for key, raw in rows:
            kind = _FIELDS.get(key)
            if kind is not None:
                values[key] = msgspec.json.decode(raw, type=kind)
        return RiskState(**values)

    async def save(self, key: str, value: object, now_ms: int) -> None:
        """Persist one part of the state."""
        if key not in _FIELDS:
            raise KeyError(key)
        await self._db.execute(
            "INSERT INTO risk_state (key, value, updated_ms) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "updated_ms = excluded.updated_ms",
            (key, msgspec.json.encode(value).decode(), now_ms),
        )

    async def audit(
        self, *, ts_ms: int, actor: str, action: str, key: str, old: object, new: object
    ) -> None:
        """Record a change made by a person."""
        await self._db.execute(
            "INSERT INTO risk_audit (ts_ms, actor, action, key, old, new) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ts_ms, actor, action, key, _json(old), _json(new)),
        )

    async def audits(self, limit: int = 100) -> list[AuditEntry]:
        """The latest audited changes, newest first."""
        rows = await self._db.execute(
            "SELECT id, ts_ms, actor, action, key, old, new FROM risk_audit "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            AuditEntry(
                id=r[0],
                ts_ms=r[1],
                actor=r[2],
                action=r[3],
                key=r[4],
                old=msgspec.json.decode(r[5]),
                new=msgspec.json.decode(r[6]),
            )
            for r in rows
        ]

    async def reject(
        self,
        *,
        ts_ms: int,
        intent_id: str,
        symbol: str,
        side: str,
        purpose: str,
        reason: str,
        detail: str,
    ) -> None:
        """Record a refused intent."""
        await self._db.execute(
            "INSERT INTO risk_rejections (ts_ms, intent_id, symbol, side, purpose, reason, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ts_ms, intent_id, symbol, side, purpose, reason, detail),
        )


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()
