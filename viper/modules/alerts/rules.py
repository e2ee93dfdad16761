"""The rules: which bus events deserve an alert, how bad they are, and under which key.

Event types that other modules may add later (a circuit breaker's, a differently named risk
report) are matched by class name or by their fields, so a new publisher needs no change
here. Level rules (daily loss, drawdown, kill switch) fire when the level rises, not on every
report; event rules fire on every event and leave folding repeats to the throttle.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from viper.config import AlertRuleName, AlertsConfig, AlertSeverity
from viper.events import (
    AlertRaised,
    BaseEvent,
    ExchangeConnectionChanged,
    KillSwitchChanged,
    MarketDataStale,
    ModuleStateChanged,
    OrderUpdated,
    PositionDesynced,
    ReconciliationDiscrepancy,
    RiskLevelsChanged,
    TradeRejected,
)
from viper.modules.alerts.models import SEVERITY_RANK, Candidate

RULES: dict[str, AlertSeverity] = {
    "daily_loss": "warning",
    "drawdown": "warning",
    "kill_switch": "critical",
    "order_rejected": "warning",
    "module_failed": "critical",
    "position_desync": "warning",
    "data_stale": "warning",
    "exchange_down": "critical",
    "raised": "warning",
}
KNOWN: tuple[type[BaseEvent], ...] = (
    AlertRaised,
    TradeRejected,
    OrderUpdated,
    ModuleStateChanged,
    PositionDesynced,
    ReconciliationDiscrepancy,
    MarketDataStale,
    ExchangeConnectionChanged,
    KillSwitchChanged,
    RiskLevelsChanged,
)
RISK_FIELDS = frozenset({"equity", "day_start_equity", "peak_equity"})


class RuleSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Thresholds and switches of the rules, changeable at run time."""

    window_seconds: Annotated[float, Meta(gt=0, le=86_400)] = 60.0
    max_per_window: Annotated[int, Meta(ge=1, le=10_000)] = 10
    daily_loss_warn: Annotated[float, Meta(gt=0, le=1)] = 0.8
    drawdown_warn: Annotated[float, Meta(gt=0, le=1)] = 0.5
    disabled_rules: list[AlertRuleName] = msgspec.field(default_factory=list)

    @classmethod
    def from_config(cls, cfg: AlertsConfig) -> RuleSettings:
        return cls(
            window_seconds=cfg.window_seconds,
            max_per_window=cfg.max_per_window,
            daily_loss_warn=cfg.daily_loss_warn,
            drawdown_warn=cfg.drawdown_warn,
            disabled_rules=list(cfg.disabled_rules),
        )


def _name_has(cls: type, *parts: str) -> bool:
    name = cls.__name__.lower()
    return any(part in name for part in parts)


def _fields(cls: type) -> frozenset[str]:
    return frozenset(getattr(cls, "__struct_fields__", ()))


def handles(cls: type[BaseEvent]) -> bool:
    """Whether the rules look at events of `cls` (known, or recognised by name or fields)."""
    return (
        issubclass(cls, KNOWN)
        or _name_has(cls, "killswitch", "circuit", "desync")
        or _fields(cls) >= RISK_FIELDS
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


class RuleEngine:
    """Turns events into candidates; remembers the level of the level rules."""

    def __init__(self, settings: RuleSettings) -> None:
        self.settings = settings
        self._levels: dict[str, AlertSeverity | None] = {}

    def evaluate(self, event: BaseEvent) -> list[Candidate]:
        """The candidates `event` raises, minus those of disabled rules."""
        found = self._match(event)
        disabled = set(self.settings.disabled_rules)
        return [c for c in found if c.category not in disabled]

    def _match(self, event: BaseEvent) -> list[Candidate]:
        match event:
            case AlertRaised():
                return self._raised(event)
            case TradeRejected(symbol=symbol, reason=reason, detail=detail):
                text = f"{symbol}: trade rejected ({reason}){': ' + detail if detail else ''}"
                return [_make("order_rejected", text, key=f"{symbol}:{reason}", source="risk")]
            case OrderUpdated(order=order) if order.state == "rejected":
                text = f"{order.symbol}: order {order.client_order_id} rejected by the exchange"
                return [_make("order_rejected", text, key=f"{order.symbol}:order", source="order")]
            case ModuleStateChanged(module=module, new="failed", reason=reason):
                text = f"module {module} failed{': ' + reason if reason else ''}"
                return [_make("module_failed", text, key=module, source=module)]
            case ReconciliationDiscrepancy(kind=kind, symbol=symbol, detail=detail, blocking=b):
                text = f"{symbol}: {kind}: {detail}"
                level: AlertSeverity = "warning" if b else "info"
                key = f"{kind}:{symbol}"
                return [_make("position_desync", text, key=key, severity=level, source="sync")]
            case PositionDesynced(symbol=symbol, journal_size=ours, exchange_size=theirs):
                # The fix of a discrepancy already alerted: worth a line in the history.
                text = f"{symbol}: journal size {ours} set to the exchange's {theirs}"
                return [_make("position_desync", text, key=symbol, severity="info", source="sync")]
            case MarketDataStale(symbol=symbol, silent_seconds=silent, source=source):
                text = f"{symbol}: no market data for {silent:.0f} s ({source})"
                return [_make("data_stale", text, key=symbol, source="streamer")]
            case ExchangeConnectionChanged(exchange=exchange, connected=False, reason=reason):
                text = f"exchange {exchange} unreachable{': ' + reason if reason else ''}"
                return [_make("exchange_down", text, key=exchange, source="exchange")]
            case KillSwitchChanged(halted=halted, reason=reason):
                return self._kill_switch(halted, reason)
            case RiskLevelsChanged():
                return self._risk(event)
        return self._by_shape(event)

    def _raised(self, event: AlertRaised) -> list[Candidate]:
        """Another module's alert; one that restates a fact a typed event brings is merged."""
        rule, message = event.rule, event.message
        if rule == "kill_switch":  # also a KillSwitchChanged: the level rule keeps one
            return self._level("kill_switch", "critical", message)
        if rule.startswith("daily_loss"):
            return [
                _make(
                    "daily_loss",
                    message,
                    key="daily_loss",
                    severity=event.severity,
                    source=event.source,
                )
            ]
        if rule.startswith("sync.") and event.source == "sync":
            return []  # the ReconciliationDiscrepancy beside it says the same, with its symbol
        return [_make("raised", message, key=event.source, rule=rule, severity=event.severity)]

    def _by_shape(self, event: BaseEvent) -> list[Candidate]:
        """Events recognised by class name or fields (types other modules may add)."""
        cls = type(event)
        if _fields(cls) >= RISK_FIELDS:
            return self._risk(event)
        if _name_has(cls, "killswitch"):
            halted = bool(getattr(event, "halted", getattr(event, "active", True)))
            return self._kill_switch(halted, str(getattr(event, "reason", "")))
        if _name_has(cls, "circuit") and _says_open(event):
            name = str(getattr(event, "name", getattr(event, "breaker", cls.__name__)))
            return [_make("exchange_down", f"circuit {name} is open", key=name)]
        if _name_has(cls, "desync"):
            symbol = str(getattr(event, "symbol", ""))
            return [_make("position_desync", f"{symbol}: position out of sync", key=symbol)]
        return []

    def _kill_switch(self, halted: bool, reason: str) -> list[Candidate]:
        text = f"kill switch tripped: trading halted{': ' + reason if reason else ''}"
        return self._level("kill_switch", "critical" if halted else None, text)

    def _risk(self, event: Any) -> list[Candidate]:
        s = self.settings
        equity = float(event.equity)
        day_start, peak = float(event.day_start_equity), float(event.peak_equity)
        loss = (day_start - equity) / day_start if day_start > 0 else 0.0
        drawdown = (peak - equity) / peak if peak > 0 else 0.0
        loss_limit = float(getattr(event, "daily_loss_limit", 0.0) or 0.0)
        max_dd = float(getattr(event, "max_drawdown", 0.0) or 0.0)
        found: list[Candidate] = []
        if loss_limit > 0:
            level = _grade(loss, loss_limit, s.daily_loss_warn)
            text = f"daily loss {_pct(loss)} of the day's equity (limit {_pct(loss_limit)})"
            found += self._level("daily_loss", level, text)
        if max_dd > 0:
            level = _grade(drawdown, max_dd, s.drawdown_warn)
            text = f"drawdown {_pct(drawdown)} from the peak (kill switch at {_pct(max_dd)})"
            found += self._level("drawdown", level, text)
        return found

    def _level(self, rule: str, level: AlertSeverity | None, text: str) -> list[Candidate]:
        """A candidate only when the level rises; a drop re-arms the rule."""
        before = self._levels.get(rule)
        self._levels[rule] = level
        if level is None or (before is not None and SEVERITY_RANK[level] <= SEVERITY_RANK[before]):
            return []
        return [_make(rule, text, key=rule, severity=level, source="risk")]


def _grade(value: float, limit: float, warn_share: float) -> AlertSeverity | None:
    if value >= limit:
        return "critical"
    if value >= warn_share * limit:
        return "warning"
    return None


def _says_open(event: Any) -> bool:
    for attr in ("state", "new", "status"):
        if str(getattr(event, attr, "")).lower() == "open":
            return True
    return getattr(event, "open", False) is True


def _make(
    category: str,
    message: str,
    *,
    key: str = "",
    rule: str | None = None,
    severity: AlertSeverity | None = None,
    source: str = "",
) -> Candidate:
    return Candidate(
        category=category,
        rule=rule or category,
        severity=severity or RULES[category],
        key=key,
        message=message,
        source=source,
    )
