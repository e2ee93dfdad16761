"""The risk manager: intents to orders, refusals journaled, daily loss, kill switch, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.unit.modules.risk.helpers import BTC, ETH, RecordingExchange, intent
from viper.clock import TestClock
from viper.config import RiskConfig
from viper.domain import Position
from viper.errors import TemporaryError, ValidationError
from viper.events import (
    AlertRaised,
    ConfigChanged,
    KillSwitchChanged,
    OrderRequest,
    TradeRejected,
)
from viper.modules.risk.gate import Approval
from viper.modules.risk.ids import client_order_id
from viper.modules.risk.manager import RiskManager
from viper.modules.risk.store import RiskStore
from viper.store.sqlite import Database

DAY_S = 86_400


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "risk.db")
    await database.open()
    yield database
    await database.close()


async def make_manager(
    db: Database, exchange: RecordingExchange | None, clock: TestClock, **limits: float
) -> RiskManager:
    store = RiskStore(db)
    await store.migrate()
    return RiskManager(
        limits=RiskConfig(**limits),  # type: ignore[arg-type]
        state=await store.load(),
        store=store,
        clock=clock,
        exchange=lambda: exchange,
        slippage=0.0,
    )


async def test_approves_an_entry_with_a_client_order_id_derived_from_the_intent(
    db: Database, clock: TestClock
) -> None:
    manager = await make_manager(db, RecordingExchange(), clock)

    first = await manager.handle(intent(intent_id="abc"))
    again = await manager.decide(intent(intent_id="abc"))

    (request,) = first
    assert isinstance(request, OrderRequest)
    assert request.client_order_id == client_order_id("abc", "entry")
    assert request.intent_id == "abc" and request.order_type == "market"
    assert request.amount == Decimal("0.297") and not request.reduce_only
    assert again.reason == "position_open"  # type: ignore[union-attr]  # pending counts


async def test_refuses_without_an_exchange_and_journals_the_refusal(
    db: Database, clock: TestClock
) -> None:
    manager = await make_manager(db, None, clock)

    (event,) = await manager.handle(intent(intent_id="x1"))

    assert isinstance(event, TradeRejected) and event.reason == "exchange_unavailable"
    rows = await db.execute("SELECT intent_id, reason FROM risk_rejections")
    assert rows == [("x1", "exchange_unavailable")]


async def test_daily_loss_limit_blocks_entries_until_the_next_utc_day(
    db: Database, clock: TestClock
) -> None:
    exchange = RecordingExchange(10_000.0)
    manager = await make_manager(db, exchange, clock)
    await manager.refresh()
    exchange.set_equity(9_690.0)  # -3.1% on the day

    events = await manager.refresh()
    blocked = await manager.decide(intent())
    clock.advance(DAY_S)
    await manager.refresh()
    next_day = await manager.decide(intent(ts_ms=clock.now_ms()))

    assert [e.rule for e in events if isinstance(e, AlertRaised)] == ["daily_loss_limit"]
    assert blocked.reason == "daily_loss_limit"  # type: ignore[union-attr]
    assert isinstance(next_day, Approval)
    assert manager.day.start_equity == 9_690.0


async def test_kill_switch_flattens_halts_and_survives_a_restart(
    db: Database, clock: TestClock
) -> None:
    exchange = RecordingExchange(10_000.0)
    exchange.hold(BTC, "0.2", 60_000.0)
    exchange.hold(ETH, "3", 3_000.0, direction="short")
    manager = await make_manager(db, exchange, clock)
    await manager.refresh()
    exchange.set_equity(8_400.0)  # 16% below the peak

    events = await manager.refresh()
    restarted = await make_manager(db, exchange, clock)

    orders = [e for e in events if isinstance(e, OrderRequest)]
    assert [(o.symbol, o.side, o.amount, o.reduce_only) for o in orders] == [
        (BTC, "sell", Decimal("0.2"), True),
        (ETH, "buy", Decimal("3"), True),
    ]
    assert any(isinstance(e, KillSwitchChanged) and e.halted for e in events)
    assert any(isinstance(e, AlertRaised) and e.severity == "critical" for e in events)
    assert restarted.kill.halted
    assert (await restarted.decide(intent(symbol="SOL"))).reason == "unknown_symbol"  # type: ignore[union-attr]
    assert (await restarted.decide(intent(symbol=BTC))).reason == "kill_switch"  # type: ignore[union-attr]


async def test_a_person_resumes_after_the_kill_switch(db: Database, clock: TestClock) -> None:
    exchange = RecordingExchange(10_000.0)
    manager = await make_manager(db, exchange, clock)
    await manager.refresh()
    exchange.set_equity(8_000.0)
    await manager.refresh()

    events = await manager.resume("alice", "checked the account")
    same_day = await manager.decide(intent())
    clock.advance(DAY_S)
    await manager.refresh()
    next_day = await manager.decide(intent(ts_ms=clock.now_ms()))
    audit = await RiskStore(db).audits()

    assert any(isinstance(e, KillSwitchChanged) and not e.halted for e in events)
    assert not manager.kill.halted and manager.peak == 8_000.0
    assert same_day.reason == "daily_loss_limit"  # type: ignore[union-attr]  # not kill_switch
    assert isinstance(next_day, Approval)
    assert [(a.actor, a.action) for a in audit] == [
        ("alice", "kill_switch.resume"),
        ("risk", "kill_switch.trip"),
    ]


async def test_changes_limits_validated_audited_and_announced(
    db: Database, clock: TestClock
) -> None:
    manager = await make_manager(db, RecordingExchange(), clock)

    events = await manager.set_limits({"max_open_positions": 2, "risk_per_trade": 0.01}, "bob")
    with pytest.raises(ValidationError) as bad:
        await manager.set_limits({"risk_per_trade": 0.5}, "bob")
    with pytest.raises(ValidationError) as unknown:
        await manager.set_limits({"max_fun": 1}, "bob")
    audit = await RiskStore(db).audits()

    assert manager.limits.max_open_positions == 2 and manager.limits.risk_per_trade == 0.01
    assert {(e.section, e.key, e.actor) for e in events if isinstance(e, ConfigChanged)} == {
        ("risk", "max_open_positions", "bob"),
        ("risk", "risk_per_trade", "bob"),
    }
    assert bad.value.field == "risk_per_trade"
    assert unknown.value.field == "max_fun"
    assert {(a.key, a.old, a.new) for a in audit} == {
        ("max_open_positions", 5, 2),
        ("risk_per_trade", 0.02, 0.01),
    }
    assert (await RiskStore(db).load()).limits == manager.limits


async def test_a_pending_entry_counts_until_its_order_ends_and_its_position_holds(
    db: Database, clock: TestClock
) -> None:
    exchange = RecordingExchange()
    manager = await make_manager(db, exchange, clock, max_open_positions=1)
    (request,) = await manager.handle(intent(intent_id="e1"))
    eth = intent(symbol=ETH, price=3_000.0, stop=2_950.0, intent_id="e2")

    blocked = await manager.decide(eth)
    assert isinstance(request, OrderRequest)
    manager.position_changed(
        Position(symbol=BTC, direction="long", size=request.amount, entry_price=Decimal(60_000))
    )
    assert manager.settled(request.client_order_id)
    still = await manager.decide(eth)  # the filled position now holds the only slot
    manager.position_changed(
        Position(symbol=BTC, direction="long", size=Decimal(0), entry_price=Decimal(0))
    )
    allowed = await manager.decide(eth)

    assert blocked.reason == "max_open_positions"  # type: ignore[union-attr]
    assert still.reason == "max_open_positions"  # type: ignore[union-attr]
    assert isinstance(allowed, Approval)


async def test_an_exit_the_journal_has_not_seen_yet_asks_the_exchange(
    db: Database, clock: TestClock
) -> None:
    exchange = RecordingExchange()
    manager = await make_manager(db, exchange, clock)
    await manager.refresh()
    exchange.hold(BTC, "0.3", 60_000.0)  # filled at the exchange, not reported yet

    outcome = await manager.decide(intent(side="sell", purpose="exit"))

    assert isinstance(outcome, Approval) and outcome.amount == Decimal("0.3")


class DownExchange(RecordingExchange):
    """An exchange whose account cannot be read."""

    async def fetch_balance(self) -> Any:
        raise TemporaryError("timed out")


async def test_an_exchange_that_cannot_be_read_refuses_entries_fail_closed(
    db: Database, clock: TestClock
) -> None:
    manager = await make_manager(db, DownExchange(), clock)

    (event,) = await manager.handle(intent(intent_id="down"))

    assert isinstance(event, TradeRejected)
    assert (event.reason, event.detail) == ("exchange_unavailable", "timed out")
