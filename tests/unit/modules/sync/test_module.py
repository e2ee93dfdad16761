"""The sync module on a real bus: the trading gate fails closed until a reconciliation passes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import make_config
from tests.unit.modules.order.fake_exchange import FakeExchange
from tests.unit.modules.order.stubs import eventually, module_context
from viper.bus import InMemoryBus
from viper.config import Config
from viper.events import ExchangeConnectionChanged
from viper.modules.base import ModuleContext, Services
from viper.modules.order.journal import Journal
from viper.modules.sync.module import SyncModule
from viper.protocols import Exchange, TradingGate


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, sync={"interval_seconds": 0.1})


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus()
    await bus.start()
    yield bus
    await bus.stop()


class Started:
    """A sync module that the test starts itself, so it sees the moment before the first run."""

    def __init__(self, context: ModuleContext) -> None:
        self.sync = SyncModule()
        self.context = context

    async def start(self) -> SyncModule:
        await self.sync.start(self.context)
        return self.sync


@pytest.fixture
async def module(
    config: Config, bus: InMemoryBus, journal: Journal, exchange: FakeExchange
) -> AsyncIterator[tuple[Started, Services]]:
    """The module, not yet started, and its services; the exchange is down."""
    services = Services()
    services.provide(Exchange, exchange)
    exchange.down = True
    started = Started(module_context("sync", config, bus, journal.db, services))
    yield started, services
    await started.sync.stop()


async def allowed(services: Services) -> bool:
    return services.get(TradingGate).entries_allowed()[0]


async def refused(services: Services) -> bool:
    return not await allowed(services)


async def test_entries_stay_closed_until_the_first_reconciliation_passes(
    module: tuple[Started, Services], exchange: FakeExchange
) -> None:
    starter, services = module
    exchange.down = False
    exchange.hold = asyncio.Event()  # the first run waits inside fetch_positions
    starting = asyncio.create_task(starter.start())
    await eventually(lambda: _true("fetch_positions" in exchange.calls))
    assert services.get(TradingGate).entries_allowed() == (False, "awaiting reconciliation")
    exchange.hold.set()
    sync = await starting
    assert await allowed(services)
    assert sync.health().status == "ok"


async def test_a_failed_reconciliation_keeps_entries_closed(
    module: tuple[Started, Services], exchange: FakeExchange
) -> None:
    starter, services = module
    sync = await starter.start()
    allowed_now, reason = services.get(TradingGate).entries_allowed()
    assert not allowed_now and reason.startswith("reconciliation failed")
    assert sync.health().status == "degraded"
    exchange.down = False
    await eventually(lambda: allowed(services))
    assert sync.health().status == "ok"


async def test_a_reconnect_closes_entries_until_the_next_reconciliation(
    module: tuple[Started, Services], exchange: FakeExchange, bus: InMemoryBus
) -> None:
    starter, services = module
    sync = await starter.start()
    exchange.down = False
    await eventually(lambda: allowed(services))
    exchange.down = True  # the exchange drops, and is unreachable for a while
    await bus.publish(ExchangeConnectionChanged(ts_ms=0, exchange="fake", connected=False))
    await eventually(lambda: refused(services))
    await bus.publish(ExchangeConnectionChanged(ts_ms=0, exchange="fake", connected=True))
    runs = sync.runs
    await eventually(lambda: _true(sync.runs > runs + 1))
    assert not await allowed(services)
    exchange.down = False
    await eventually(lambda: allowed(services))


async def test_stop_withdraws_the_gate(
    module: tuple[Started, Services],
) -> None:
    starter, services = module
    sync = await starter.start()
    await sync.stop()
    assert services.maybe(TradingGate) is None
    await sync.stop()


async def _true(value: bool) -> bool:
    return value
