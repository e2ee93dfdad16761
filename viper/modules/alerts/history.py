"""The alert history in SQLite, and the channels and rule settings changed at run time.

Channels added through the API are kept without their secret: a secret given in the request
lives in memory only (the vault is where secrets persist, encrypted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from viper.config import AlertChannel, Secret
from viper.errors import NotFoundError
from viper.modules.alerts.models import SEVERITY_RANK, Alert, Delivery
from viper.store.sqlite import Database

COMPONENT = "alerts"
MIGRATIONS: Sequence[str] = (
    "CREATE TABLE alerts ("
    " id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, rule TEXT NOT NULL,"
    " category TEXT NOT NULL, severity TEXT NOT NULL, rank INTEGER NOT NULL,"
    " key TEXT NOT NULL, message TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,"
    " count INTEGER NOT NULL, acked_ms INTEGER, acked_by TEXT NOT NULL DEFAULT '',"
    " deliveries TEXT NOT NULL)",
    "CREATE INDEX alerts_ts ON alerts (ts_ms DESC)",
    "CREATE TABLE alert_channels (name TEXT PRIMARY KEY, config TEXT NOT NULL)",
    "CREATE TABLE alert_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_COLUMNS = (
    "id, ts_ms, rule, category, severity, key, message, source, kind, count,"
    " acked_ms, acked_by, deliveries"
)
_deliveries = msgspec.json.Decoder(dict[str, Delivery])
_encoder = msgspec.json.Encoder()


class AlertFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Validated history filters."""

    min_severity: str | None = None
    rule: str | None = None
    kind: str | None = None
    acked: bool | None = None
    since_ms: int | None = None
    until_ms: int | None = None


def _where(f: AlertFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.min_severity is not None:
        clauses.append("rank >= ?")
        params.append(SEVERITY_RANK[f.min_severity])
    for column, value in (("rule", f.rule), ("kind", f.kind)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if f.acked is not None:
        clauses.append("acked_ms IS NOT NULL" if f.acked else "acked_ms IS NULL")
    if f.since_ms is not None:
        clauses.append("ts_ms >= ?")
        params.append(f.since_ms)
    if f.until_ms is not None:
        clauses.append("ts_ms < ?")
        params.append(f.until_ms)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _alert(row: Sequence[Any]) -> Alert:
    return Alert(
        id=row[0],
        ts_ms=row[1],
        rule=row[2],
        category=row[3],
        severity=row[4],
        key=row[5],
        message=row[6],
        source=row[7],
        kind=row[8],
        count=row[9],
        acked_ms=row[10],
        acked_by=row[11],
        deliveries=_deliveries.decode(row[12]),
    )


def _secret_dropped(obj: object) -> object:
    if isinstance(obj, Secret):
        return ""
    raise NotImplementedError(f"cannot store {type(obj)!r}")


class AlertHistory:
    """Alerts, acknowledgements and delivery states, in the process's SQLite database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self) -> None:
        await self.db.migrate(COMPONENT, MIGRATIONS)

    async def add(self, alert: Alert) -> None:
        await self.db.execute(
            f"INSERT INTO alerts ({_COLUMNS}, rank) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                alert.id,
                alert.ts_ms,
                alert.rule,
                alert.category,
                alert.severity,
                alert.key,
                alert.message,
                alert.source,
                alert.kind,
                alert.count,
                alert.acked_ms,
                alert.acked_by,
                _encoder.encode(alert.deliveries).decode(),
                SEVERITY_RANK[alert.severity],
            ),
        )

    async def save_deliveries(self, alert: Alert) -> None:
        await self.db.execute(
            "UPDATE alerts SET deliveries = ? WHERE id = ?",
            (_encoder.encode(alert.deliveries).decode(), alert.id),
        )

    async def get(self, alert_id: str) -> Alert:
        rows = await self.db.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        if not rows:
            raise NotFoundError(f"no alert with id {alert_id!r}")
        return _alert(rows[0])

    async def ack(self, alert_id: str, ts_ms: int, by: str) -> Alert:
        """Acknowledge an alert; acknowledging twice keeps the first time and person."""
        await self.db.execute(
            "UPDATE alerts SET acked_ms = ?, acked_by = ? WHERE id = ? AND acked_ms IS NULL",
            (ts_ms, by, alert_id),
        )
        return await self.get(alert_id)

    async def page(self, f: AlertFilter, offset: int, limit: int) -> tuple[int, list[Alert]]:
        """Matching alerts counted, and one page of them, newest first."""
        where, params = _where(f)
        total = (await self.db.execute(f"SELECT COUNT(*) FROM alerts{where}", params))[0][0]
        rows = await self.db.execute(
            f"SELECT {_COLUMNS} FROM alerts{where}"
            " ORDER BY ts_ms DESC, rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return int(total), [_alert(r) for r in rows]

    async def purge(self, before_ms: int) -> None:
        await self.db.execute("DELETE FROM alerts WHERE ts_ms < ?", (before_ms,))

    async def save_channel(self, name: str, channel: AlertChannel) -> None:
        config = msgspec.json.encode(channel, enc_hook=_secret_dropped).decode()
        await self.db.execute(
            "INSERT INTO alert_channels (name, config) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET config = excluded.config",
            (name, config),
        )

    async def delete_channel(self, name: str) -> None:
        await self.db.execute("DELETE FROM alert_channels WHERE name = ?", (name,))

    async def channels(self) -> list[str]:
        """The stored channels' JSON, to be validated by the caller."""
        rows = await self.db.execute("SELECT config FROM alert_channels ORDER BY name")
        return [str(r[0]) for r in rows]

    async def save_setting(self, key: str, value: bytes) -> None:
        await self.db.execute(
            "INSERT INTO alert_settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value.decode()),
        )

    async def setting(self, key: str) -> bytes | None:
        rows = await self.db.execute("SELECT value FROM alert_settings WHERE key = ?", (key,))
        return str(rows[0][0]).encode() if rows else None
