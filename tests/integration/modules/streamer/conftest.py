"""A streamer module on a real in-memory bus, started with a context built by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from loguru import logger

from viper.bus import InMemoryBus
from viper.clock import Clock
from viper.config import Config, section_of
from viper.events import BaseEvent
from viper.metrics import new_registry
from viper.modules.base import ModuleContext, Services
from viper.modules.streamer.module import StreamerModule
from viper.store.sqlite import Database


class Harness:
    """Starts modules on one bus and records every event published on it, in order."""

    def __init__(self, tmp_path: Path, bus: InMemoryBus) -> None:
        self.tmp_path = tmp_path
        self.bus = bus
        self.services = Services()
        self.events: list[BaseEvent] = []
        self.started: list[StreamerModule] = []

    async def record(self, event: BaseEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[BaseEvent]) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]

    async def start(self, module: StreamerModule, config: Config, clock: Clock) -> StreamerModule:
        ctx = ModuleContext(
            name=module.name,
            section=section_of(config, module.name),
            config=config,
            bus=self.bus,
            clock=clock,
            store=Database(str(self.tmp_path / "unused.db")),
            metrics=new_registry(),
            logger=logger.bind(module=module.name),
            services=self.services,
        )
        await module.start(ctx)
        self.started.append(module)
        return module


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    bus = InMemoryBus(queue_size=10_000)
    h = Harness(tmp_path, bus)
    bus.subscribe(BaseEvent, h.record, name="test:recorder")
    await bus.start()
    yield h
    for module in reversed(h.started):
        await module.stop()
    await bus.stop()
