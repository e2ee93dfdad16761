"""The order module on a real bus: requests in, reports in, events out, recovery on restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests.conftest import make_config
from tests.unit.modules.order.fake_exchange import SYMBOL, FakeExchange
from tests.unit.modules.order.stubs import eventually, module_context, request
from viper.bus import InMemoryBus
from viper.config import Config
from viper.events import BaseEvent, PositionChanged
from viper.modules.base import Services
from viper.modules.order import queries
from viper.modules.order.module import OrderModule
from viper.protocols import Exchange
from viper.store.sqlite import Database


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, order={"poll_seconds": 0.05})


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus()
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture
def services(exchange: FakeExchange) -> Services:
    services = Services()
    services.provide(Exchange, exchange)
    return services


async def started(
    config: Config, bus: InMemoryBus, db: Database, services: Services
) -> OrderModule:
    module = OrderModule()
    await module.start(module_context("order", config, bus, db, services))
    return module


async def state_of(db: Database, cid: str) -> str | None:
    order = await queries.get_order(db, cid)
    return order.state if order else None


async def test_request_on_the_bus_is_journaled_sent_and_filled(
    config: Config, bus: InMemoryBus, db: Database, services: Services, exchange: FakeExchange
) -> None:
    seen: list[BaseEvent] = []

    async def keep(event: BaseEvent) -> None:
        seen.append(event)

    bus.subscribe(PositionChanged, keep, name="test")
    module = await started(config, bus, db, services)
    try:
        await bus.publish(request())
        await eventually(lambda: _is(db, "c1", "open"))
        await bus.publish(exchange.fill("c1", "1", "100", fee="0.1"))
        await eventually(lambda: _is(db, "c1", "filled"))
        await eventually(lambda: _true(bool(seen)))
        assert module.health().status == "ok"
    finally:
        await module.stop()
    assert seen[0].position.size == D(1)  # type: ignore[attr-defined]


async def test_new_instances_on_the_same_database_account_for_every_order_once(
    config: Config, bus: InMemoryBus, db: Database, services: Services, exchange: FakeExchange
) -> None:
    module = await started(config, bus, db, services)
    await bus.publish(request("open-1"))
    await eventually(lambda: _is(db, "open-1", "open"))
    exchange.fail("create_order", "before", "lose")  # the send of "lost-1" hangs at stop
    await bus.publish(request("lost-1"))
    await eventually(lambda: _true(exchange.create_calls.count("lost-1") == 2))
    exchange.fill("open-1", "1", "100")  # fills while the process is going down
    await module.stop()
    assert await state_of(db, "lost-1") == "submitted"
    assert await state_of(db, "open-1") == "open"

    again = await started(config, bus, db, services)
    try:
        await eventually(lambda: _is(db, "lost-1", "open"))
        await eventually(lambda: _is(db, "open-1", "filled"))
        assert again.upkeep is not None and again.upkeep.recovered
    finally:
        await again.stop()
    assert sorted(exchange.orders) == ["lost-1", "open-1"]
    assert exchange.create_calls.count("open-1") == 1
    assert exchange.create_calls.count("lost-1") == 2  # adopted after the restart, not resent
    assert (await queries.position(db, SYMBOL)).size == D(1)


async def test_stop_is_safe_twice_and_before_start() -> None:
    module = OrderModule()
    await module.stop()
    await module.stop()
    assert module.health().status == "down"


async def _is(db: Database, cid: str, state: str) -> bool:
    return await state_of(db, cid) == state


async def _true(value: bool) -> bool:
    return value
