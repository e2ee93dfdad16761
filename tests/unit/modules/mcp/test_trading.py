"""The trading tools against a real in-memory bus: an order is a TradeIntent whose answer
(OrderRequest or TradeRejected) comes back for that intent; pausing goes through the
TradingControl protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from viper.auth import Principal
from viper.bus import InMemoryBus
from viper.clock import TestClock
from viper.errors import ForbiddenError, RejectedError, TemporaryError, ValidationError
from viper.events import OrderRequest, TradeIntent, TradeRejected
from viper.modules.base import Services
from viper.modules.mcp.access import require
from viper.modules.mcp.intents import IntentWaiter
from viper.modules.mcp.spec import Deps, input_schema
from viper.modules.mcp.trading import (
    TRADING_TOOLS,
    PauseArgs,
    PlaceOrderArgs,
    pause_trading,
    place_order,
)
from viper.protocols import TradingControl, TradingStateName
from viper.store.sqlite import Database

TRADER = Principal(token_id="t2", name="assistant", scopes=("trade",), via="bearer")
BTC = "BTC/USDT:USDT"


class Risk:
    """Answers intents as the risk manager does: approve BTC, refuse anything else."""

    def __init__(self, bus: InMemoryBus) -> None:
        self.bus = bus
        self.intents: list[TradeIntent] = []

    async def on_intent(self, intent: TradeIntent) -> None:
        self.intents.append(intent)
        if intent.symbol != BTC:
            await self.bus.publish(
                TradeRejected(ts_ms=1, intent_id=intent.intent_id, symbol=intent.symbol, reason="x")
            )
            return
        await self.bus.publish(
            OrderRequest(
                ts_ms=1,
                client_order_id="vpr-1",
                symbol=BTC,
                side=intent.side,
                order_type="market",
                amount=Decimal("0.5"),
                intent_id=intent.intent_id,
            )
        )


class Live:
    """A TradingControl that remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[TradingStateName, str, str]] = []

    async def set_trading_state(
        self, state: TradingStateName, *, actor: str, reason: str = ""
    ) -> TradingStateName:
        self.asked.append((state, actor, reason))
        return state


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus()
    await bus.start()
    yield bus
    await bus.stop()


def deps_for(bus: InMemoryBus, tmp_path: Path, timeout: float = 2.0) -> Deps:
    intents = IntentWaiter()
    bus.subscribe(OrderRequest, intents.on_answer, name="test.approved")
    bus.subscribe(TradeRejected, intents.on_answer, name="test.rejected")
    return Deps(
        config=None,  # type: ignore[arg-type]  # the trading tools never read it
        services=Services(),
        bus=bus,
        clock=TestClock(),
        store=Database(tmp_path / "unused.db"),
        intents=intents,
        order_timeout=timeout,
    )


def order(**fields: object) -> PlaceOrderArgs:
    values: dict[str, object] = {"symbol": BTC, "side": "buy", "price": 100.0, "confirm": True}
    values.update(fields)
    return PlaceOrderArgs(**values)  # type: ignore[arg-type]


async def test_an_approved_intent_returns_the_sized_order(bus: InMemoryBus, tmp_path: Path) -> None:
    deps = deps_for(bus, tmp_path)
    risk = Risk(bus)
    bus.subscribe(TradeIntent, risk.on_intent, name="test.risk")
    outcome = await place_order(deps, TRADER, order(stop_loss=95.0))
    assert outcome.status == "approved" and outcome.amount == "0.5"
    (intent,) = risk.intents
    assert intent.intent_id == outcome.intent_id and intent.purpose == "entry"
    assert intent.stop_loss == 95.0 and intent.price == 100.0 and intent.strategy == "mcp"
    assert deps.intents.waiting == 0


async def test_a_refused_intent_is_a_rejected_error_with_the_reason(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    deps = deps_for(bus, tmp_path)
    bus.subscribe(TradeIntent, Risk(bus).on_intent, name="test.risk")
    with pytest.raises(RejectedError) as refused:
        await place_order(deps, TRADER, order(symbol="ETH/USDT:USDT"))
    assert refused.value.extra["reason"] == "x"


async def test_no_answer_in_time_is_a_temporary_error_naming_risk(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    deps = deps_for(bus, tmp_path, timeout=0.05)
    with pytest.raises(TemporaryError) as silent:
        await place_order(deps, TRADER, order())
    assert silent.value.extra["module"] == "risk"
    assert deps.intents.waiting == 0


async def test_an_order_without_confirm_is_never_published(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    deps = deps_for(bus, tmp_path)
    risk = Risk(bus)
    bus.subscribe(TradeIntent, risk.on_intent, name="test.risk")
    with pytest.raises(ValidationError) as unconfirmed:
        await place_order(deps, TRADER, order(confirm=False))
    assert unconfirmed.value.field == "confirm"
    assert risk.intents == [] and bus.published == 0


async def test_the_same_client_ref_gives_the_same_intent(bus: InMemoryBus, tmp_path: Path) -> None:
    deps = deps_for(bus, tmp_path)
    bus.subscribe(TradeIntent, Risk(bus).on_intent, name="test.risk")
    first = await place_order(deps, TRADER, order(client_ref="k1"))
    second = await place_order(deps, TRADER, order(client_ref="k1"))
    other = await place_order(deps, TRADER, order(client_ref="k2"))
    assert first.intent_id == second.intent_id != other.intent_id


async def test_pause_asks_the_live_module_and_says_so_when_it_is_off(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    deps = deps_for(bus, tmp_path)
    with pytest.raises(TemporaryError) as off:
        await pause_trading(deps, TRADER, PauseArgs())
    assert off.value.extra["module"] == "live"
    live = Live()
    deps.services.provide(TradingControl, live)
    assert await pause_trading(deps, TRADER, PauseArgs(reason="news")) == {"state": "paused"}
    assert live.asked == [("paused", "mcp:assistant", "news")]


def test_trading_tools_need_the_trade_scope() -> None:
    reader = Principal(token_id="t1", name="dashboard", scopes=("read",), via="bearer")
    for tool in TRADING_TOOLS:
        assert tool.scope == "trade" and not tool.read_only
        with pytest.raises(ForbiddenError):
            require(reader, tool.scope, tool.name)
    schema = input_schema(PlaceOrderArgs)
    assert schema["properties"]["purpose"]["enum"] == ["entry", "exit"]
    assert schema["properties"]["confirm"]["default"] is False
