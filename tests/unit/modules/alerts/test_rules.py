"""The alert rules: which events fire, how bad, under which key; level rules fire on the rise."""

from __future__ import annotations

from decimal import Decimal

from viper.domain import Order, Position
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
    Ticker,
    TradeRejected,
)
from viper.modules.alerts.rules import RuleEngine, RuleSettings, handles

TS = 1_700_000_000_000


def engine(**settings: object) -> RuleEngine:
    return RuleEngine(RuleSettings(**settings))  # type: ignore[arg-type]


def fired(rules: RuleEngine, event: BaseEvent) -> list[tuple[str, str, str]]:
    return [(c.category, c.severity, c.key) for c in rules.evaluate(event)]


def risk(equity: float, day_start: float = 10_000, peak: float = 10_000) -> RiskLevelsChanged:
    return RiskLevelsChanged(
        ts_ms=TS,
        equity=equity,
        day_start_equity=day_start,
        peak_equity=peak,
        daily_loss_limit=0.03,
        max_drawdown=0.15,
    )


def test_event_rules_fire_with_their_severity_and_key() -> None:
    rules = engine()
    order = Order(
        client_order_id="c1",
        symbol="BTC/USDT:USDT",
        side="buy",
        type="limit",
        amount=Decimal("1"),
        state="rejected",
    )
    position = Position(
        symbol="ETH/USDT:USDT", direction="long", size=Decimal("2"), entry_price=Decimal("3000")
    )
    cases: list[tuple[BaseEvent, tuple[str, str, str]]] = [
        (
            TradeRejected(ts_ms=TS, intent_id="i", symbol="BTC/USDT:USDT", reason="max_positions"),
            ("order_rejected", "warning", "BTC/USDT:USDT:max_positions"),
        ),
        (OrderUpdated(ts_ms=TS, order=order), ("order_rejected", "warning", "BTC/USDT:USDT:order")),
        (
            ModuleStateChanged(ts_ms=TS, module="risk", old="running", new="failed"),
            ("module_failed", "critical", "risk"),
        ),
        (
            PositionDesynced(
                ts_ms=TS,
                exchange="paper",
                symbol="ETH/USDT:USDT",
                journal_size=Decimal(1),
                exchange_size=Decimal(2),
                position=position,
                action="adopted",
            ),
            ("position_desync", "info", "ETH/USDT:USDT"),
        ),
        (
            MarketDataStale(ts_ms=TS, source="live", symbol="SOL/USDT:USDT", silent_seconds=200),
            ("data_stale", "warning", "SOL/USDT:USDT"),
        ),
        (
            ExchangeConnectionChanged(
                ts_ms=TS, exchange="bitget", connected=False, reason="circuit open"
            ),
            ("exchange_down", "critical", "bitget"),
        ),
        (
            AlertRaised(
                ts_ms=TS, rule="vault.locked", severity="critical", message="m", source="vault"
            ),
            ("raised", "critical", "vault"),
        ),
    ]
    for event, expected in cases:
        assert fired(rules, event) == [expected], type(event).__name__


def test_other_modules_alerts_merge_with_the_typed_events_they_restate() -> None:
    rules = engine()
    tripped = KillSwitchChanged(ts_ms=TS, halted=True, reason="max drawdown")
    risk_alert = AlertRaised(
        ts_ms=TS,
        rule="kill_switch",
        severity="critical",
        message="kill switch tripped by risk",
        source="risk",
    )
    assert fired(rules, tripped) == [("kill_switch", "critical", "kill_switch")]
    assert fired(rules, risk_alert) == []  # the same trip, said twice
    daily = AlertRaised(
        ts_ms=TS, rule="daily_loss_limit", severity="warning", message="m", source="risk"
    )
    assert fired(rules, daily) == [("daily_loss", "warning", "daily_loss")]
    sync = AlertRaised(
        ts_ms=TS, rule="sync.position_size", severity="warning", message="m", source="sync"
    )
    assert fired(rules, sync) == []
    detail = "journal 1, exchange 2"
    found = ReconciliationDiscrepancy(
        ts_ms=TS, kind="position_size", symbol="BTC/USDT:USDT", detail=detail, blocking=False
    )
    assert fired(rules, found) == [("position_desync", "info", "position_size:BTC/USDT:USDT")]


def test_quiet_events_fire_nothing() -> None:
    rules = engine()
    assert fired(rules, Ticker(ts_ms=TS, exchange="paper", symbol="X", last=1.0)) == []
    assert (
        fired(rules, ModuleStateChanged(ts_ms=TS, module="a", old="starting", new="running")) == []
    )
    assert fired(rules, ExchangeConnectionChanged(ts_ms=TS, exchange="b", connected=True)) == []


def test_daily_loss_warns_near_the_limit_then_goes_critical_once_each() -> None:
    rules = engine(daily_loss_warn=0.8)
    assert fired(rules, risk(9_800)) == []  # 2.0% of a 3% limit: below 80%
    assert fired(rules, risk(9_750)) == [("daily_loss", "warning", "daily_loss")]  # 2.5%
    assert fired(rules, risk(9_740)) == []  # still warning: no repeat
    assert fired(rules, risk(9_690)) == [("daily_loss", "critical", "daily_loss")]  # 3.1%
    assert fired(rules, risk(9_900)) == []  # recovered: re-armed
    assert fired(rules, risk(9_700)) == [("daily_loss", "critical", "daily_loss")]


def test_drawdown_from_the_peak_warns_at_its_share_of_the_kill_switch() -> None:
    rules = engine(drawdown_warn=0.5)
    [candidate] = rules.evaluate(risk(9_200, day_start=9_200, peak=10_000))  # 8% of 15%
    assert (candidate.category, candidate.severity) == ("drawdown", "warning")
    assert "8.0%" in candidate.message and "15.0%" in candidate.message


def test_kill_switch_fires_when_tripped_not_while_it_stays_tripped() -> None:
    rules = engine()
    tripped = KillSwitchChanged(ts_ms=TS, halted=True, reason="drawdown 15%")
    assert fired(rules, tripped) == [("kill_switch", "critical", "kill_switch")]
    assert fired(rules, tripped) == []
    assert fired(rules, KillSwitchChanged(ts_ms=TS, halted=False, reason="resumed")) == []
    assert fired(rules, tripped) == [("kill_switch", "critical", "kill_switch")]


class CircuitBreakerChanged(BaseEvent, frozen=True):
    """An event type another module might add later."""

    name: str
    state: str


class EquityReported(BaseEvent, frozen=True):
    equity: float
    day_start_equity: float
    peak_equity: float
    daily_loss_limit: float
    max_drawdown: float


def test_future_event_types_are_recognised_by_name_or_fields() -> None:
    rules = engine()
    assert handles(CircuitBreakerChanged) and handles(EquityReported)
    assert not handles(Ticker)
    opened = CircuitBreakerChanged(ts_ms=TS, name="bitget", state="open")
    assert fired(rules, opened) == [("exchange_down", "critical", "bitget")]
    assert fired(rules, CircuitBreakerChanged(ts_ms=TS, name="bitget", state="closed")) == []
    report = EquityReported(
        ts_ms=TS,
        equity=9_600,
        day_start_equity=10_000,
        peak_equity=10_000,
        daily_loss_limit=0.03,
        max_drawdown=0.15,
    )
    assert fired(rules, report) == [("daily_loss", "critical", "daily_loss")]


def test_disabled_rules_fire_nothing() -> None:
    rules = engine(disabled_rules=["order_rejected"])
    event = TradeRejected(ts_ms=TS, intent_id="i", symbol="X", reason="r")
    assert fired(rules, event) == []
