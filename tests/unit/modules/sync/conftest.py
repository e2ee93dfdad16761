"""Fixtures of the sync tests: the order tests' journal, fake exchange and recorder, reused."""

from __future__ import annotations

import pytest

from tests.unit.modules.order.conftest import db, exchange, journal, recorder
from tests.unit.modules.order.fake_exchange import FakeExchange
from tests.unit.modules.order.stubs import Recorder, make_manager
from viper.clock import TestClock
from viper.config import OrderConfig
from viper.modules.order.journal import Journal
from viper.modules.order.manager import OrderManager
from viper.modules.sync.synchronizer import Synchronizer


@pytest.fixture
def manager(
    journal: Journal, exchange: FakeExchange, clock: TestClock, recorder: Recorder
) -> OrderManager:
    return make_manager(journal, exchange, clock, recorder, OrderConfig())


@pytest.fixture
def synchronizer(
    journal: Journal, exchange: FakeExchange, clock: TestClock, recorder: Recorder
) -> Synchronizer:
    return Synchronizer(exchange, journal.db, clock, recorder, settle_seconds=1.0)


__all__ = ["db", "exchange", "journal", "recorder"]  # fixtures shared with the order tests
