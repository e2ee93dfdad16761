"""The web module's lifecycle: honest health about the vendored chart library, a feed limit,
and a stop that ends every open feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from loguru import logger

from tests.conftest import make_config
from tests.stubs import ticker
from viper.bus import InMemoryBus
from viper.clock import TestClock
from viper.config import section_of
from viper.errors import TemporaryError
from viper.metrics import new_registry
from viper.modules.base import ModuleContext, Services
from viper.modules.web import module as web_package_module
from viper.modules.web.module import WebModule
from viper.modules.web.routes import VENDOR_FILE
from viper.store.sqlite import Database


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus()
    await bus.start()
    yield bus
    await bus.stop()


def context(bus: InMemoryBus, tmp_path: Path) -> ModuleContext:
    config = make_config(tmp_path)
    return ModuleContext(
        name="web",
        section=section_of(config, "web"),
        config=config,
        bus=bus,
        clock=TestClock(),
        store=Database(str(tmp_path / "unused.db")),
        metrics=new_registry(),
        logger=logger,
        services=Services(),
    )


def static_dir(tmp_path: Path, vendored: bool) -> Path:
    static = tmp_path / "static"
    (static / "vendor").mkdir(parents=True)
    if vendored:
        (static / VENDOR_FILE).write_text("export const version = () => 'test';")
    return static


def test_the_package_exports_the_module_class() -> None:
    assert web_package_module is WebModule
    assert WebModule().name == "web"


async def test_health_is_degraded_naming_the_missing_chart_library(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    web = WebModule(static=static_dir(tmp_path, vendored=False))
    await web.start(context(bus, tmp_path))

    health = web.health()

    assert health.status == "degraded"
    assert VENDOR_FILE in health.detail and "make" in health.detail
    (web.static / VENDOR_FILE).write_text("export const version = () => 'late';")
    assert web.health().status == "ok"  # vendored while running: no restart needed
    await web.stop()


async def test_health_counts_open_feeds_once_the_library_is_there(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    web = WebModule(static=static_dir(tmp_path, vendored=True))
    await web.start(context(bus, tmp_path))
    web.open_feed()

    health = web.health()

    assert health.status == "ok"
    assert health.checks == {"clients": 1, "lost": 0}
    await web.stop()


async def test_feeds_beyond_the_limit_and_after_stop_are_refused(
    bus: InMemoryBus, tmp_path: Path
) -> None:
    web = WebModule(static=static_dir(tmp_path, vendored=True), max_clients=2)
    await web.start(context(bus, tmp_path))
    web.open_feed()
    web.open_feed()

    with pytest.raises(TemporaryError, match="at most 2"):
        web.check_capacity()
    await web.stop()
    with pytest.raises(TemporaryError, match="not running"):
        web.check_capacity()
    with pytest.raises(TemporaryError, match="not running"):
        web.open_feed()


async def test_stop_ends_every_feed_and_is_safe_twice(bus: InMemoryBus, tmp_path: Path) -> None:
    web = WebModule(static=static_dir(tmp_path, vendored=True))
    await web.start(context(bus, tmp_path))
    feeds = [web.open_feed() for _ in range(3)]

    await web.stop()
    await web.stop()

    assert all(f.closed for f in feeds)
    assert web.health().checks["clients"] == 0
    assert not [s for s in bus.subscriptions if s.name.startswith("web.")]
    await bus.publish(ticker())
    assert await feeds[0].get() is None
