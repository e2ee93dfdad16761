"""The module's lifecycle: named tasks, a clean stop (twice, after a failed start), honest health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from tests.conftest import free_port, make_config
from tests.fakes.bitget_ws import SYMBOLS, eventually, market
from viper.bus import InMemoryBus
from viper.clock import LiveClock, TestClock
from viper.config import Config, ExchangeConfig, section_of
from viper.errors import ConfigError
from viper.metrics import new_registry
from viper.modules.base import ModuleContext, Services
from viper.modules.streamer import module as streamer_package_module
from viper.modules.streamer.module import StreamerModule
from viper.modules.streamer.rest import make_client
from viper.store.sqlite import Database


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus()
    await bus.start()
    yield bus
    await bus.stop()


def context(config: Config, bus: InMemoryBus, tmp_path: Path, clock: Any = None) -> ModuleContext:
    return ModuleContext(
        name="streamer",
        section=section_of(config, "streamer"),
        config=config,
        bus=bus,
        clock=clock or TestClock(),
        store=Database(str(tmp_path / "unused.db")),
        metrics=new_registry(),
        logger=logger,
        services=Services(),
    )


def test_the_package_exports_the_module_class() -> None:
    assert streamer_package_module is StreamerModule
    assert StreamerModule().name == "streamer" and StreamerModule.requires == ()


async def test_a_failed_start_names_the_key_and_stop_is_safe_after_it_twice(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    module = StreamerModule()
    config = make_config(tmp_path, trading={"timeframe": "7x"})
    with pytest.raises(ConfigError, match=r"trading\.timeframe"):
        await module.start(context(config, bus, tmp_path))
    store_only = make_config(tmp_path, streamer={"replay_data": "store"})
    with pytest.raises(ConfigError, match="data module"):
        await module.start(context(store_only, bus, tmp_path))
    await module.stop()
    await module.stop()
    assert module.health().status == "down"


async def test_runs_named_tasks_and_stop_cancels_them(bus: InMemoryBus, tmp_path: Path) -> None:
    module = StreamerModule()
    config = make_config(tmp_path, streamer={"warmup_bars": 3, "speed": 60.0})
    await module.start(context(config, bus, tmp_path, LiveClock()))
    names = {t.get_name() for t in asyncio.all_tasks()}
    assert {"streamer:feed", "streamer:staleness"} <= names
    assert module.health().status == "ok"
    await module.stop()
    await module.stop()
    names = {t.get_name() for t in asyncio.all_tasks() if not t.done()}
    assert not names & {"streamer:feed", "streamer:staleness"}


async def test_an_unreachable_exchange_shows_as_degraded_before_any_data(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"

    def factory(exchange: ExchangeConfig, websocket: bool) -> Any:
        client = make_client(exchange, websocket=websocket)
        client.urls["api"] = {k: dead for k, v in client.urls["api"].items() if isinstance(v, str)}
        client.set_markets([market(s, i) for s, i in SYMBOLS.items()])
        return client

    config = make_config(
        tmp_path,
        trading={"symbols": list(SYMBOLS)},
        streamer={"source": "poll", "poll_interval_seconds": 0.05,
                  "reconnect_max_delay_seconds": 0.1},
    )  # fmt: skip
    module = StreamerModule(client_factory=factory)
    await module.start(context(config, bus, tmp_path, LiveClock()))
    try:
        await eventually(lambda: module.health().status == "degraded")
        health = module.health()
        assert "no data yet" in health.detail and health.checks["errors"] > 0
        assert all(symbol in health.detail for symbol in SYMBOLS)
    finally:
        await module.stop()
