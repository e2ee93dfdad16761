"""Fixtures of the order tests: a journal in tmp_path, the fake exchange, a manager on them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.modules.order.fake_exchange import FakeExchange
from tests.unit.modules.order.stubs import Recorder, make_manager
from viper.clock import TestClock
from viper.config import OrderConfig
from viper.modules.order.journal import Journal
from viper.modules.order.manager import OrderManager
from viper.store.sqlite import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "viper.db")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def journal(db: Database) -> Journal:
    journal = Journal(db)
    await journal.migrate()
    return journal


@pytest.fixture
def exchange() -> FakeExchange:
    return FakeExchange()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def order_config() -> OrderConfig:
    return OrderConfig(limit_timeout_seconds=60.0, on_timeout="cancel", max_reprices=2)


@pytest.fixture
def manager(
    journal: Journal,
    exchange: FakeExchange,
    clock: TestClock,
    recorder: Recorder,
    order_config: OrderConfig,
) -> OrderManager:
    return make_manager(journal, exchange, clock, recorder, order_config)
