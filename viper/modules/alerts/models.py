"""What the alert system deals in: candidates from rules, alerts, and their delivery states."""

from __future__ import annotations

from typing import Literal

import msgspec

from viper.config import AlertSeverity

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
DeliveryState = Literal["pending", "retrying", "sent", "failed"]
AlertKind = Literal["alert", "summary", "test"]


def at_least(severity: str, minimum: str) -> bool:
    """Whether `severity` is `minimum` or worse."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[minimum]


def worst(a: AlertSeverity, b: AlertSeverity) -> AlertSeverity:
    """The more severe of two severities."""
    return a if SEVERITY_RANK[a] >= SEVERITY_RANK[b] else b


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A rule fired: what to say, how bad it is, and the key repeats are folded under.

    `category` is the configured rule (`order_rejected`, `raised`, ...); `rule` is the name
    shown (an `AlertRaised` brings its own).
    """

    category: str
    rule: str
    severity: AlertSeverity
    key: str
    message: str
    source: str = ""


class Delivery(msgspec.Struct, kw_only=True):
    """One alert's delivery to one channel."""

    state: DeliveryState = "pending"
    attempts: int = 0
    error: str = ""
    ts_ms: int = 0


class Alert(msgspec.Struct, kw_only=True):
    """An alert as kept in the history; `count` is how many fires it stands for."""

    id: str
    ts_ms: int
    rule: str
    category: str
    severity: AlertSeverity
    key: str
    message: str
    source: str = ""
    kind: AlertKind = "alert"
    count: int = 1
    acked_ms: int | None = None
    acked_by: str = ""
    deliveries: dict[str, Delivery] = msgspec.field(default_factory=dict)


class AlertPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of the history, newest first."""

    total: int
    offset: int
    limit: int
    next_offset: int | None
    alerts: list[Alert]


def title(alert: Alert) -> str:
    """One line: severity and rule."""
    suffix = f" ({alert.key})" if alert.key else ""
    return f"[VIPER] {alert.severity.upper()} {alert.rule}{suffix}"


def text(alert: Alert) -> str:
    """The message as chat channels show it."""
    return f"{title(alert)}\n{alert.message}"
