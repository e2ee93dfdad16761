"""Fixtures for the ccxt exchange against the fake Bitget: the server, a client, its reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.bitget_trading import CREDENTIALS, FakeBitgetTrading
from viper.clock import TestClock
from viper.config import ExchangeConfig, Secret
from viper.domain import ExchangeOrder, Fill
from viper.modules.exchange.client import build_client
from viper.modules.exchange.credentials import Credentials
from viper.modules.exchange.gateway import Gateway, Resilience
from viper.modules.exchange.live import CcxtExchange
from viper.modules.exchange.tracker import OrderTracker

BTC, BTC_ID = "BTC/USDT:USDT", "BTCUSDT"
FAST = Resilience(
    attempts=3,
    base_delay=0.01,
    max_delay=0.05,
    failure_threshold=4,
    recovery_seconds=5.0,
    requests_per_second=1000.0,
    burst=100.0,
)


def exchange_config(url: str, **overrides: Any) -> ExchangeConfig:
    values: dict[str, Any] = {
        "mode": "live",
        "api_url": url,
        "api_key": Secret(CREDENTIALS.key),
        "api_secret": Secret(CREDENTIALS.secret),
        "api_password": Secret(CREDENTIALS.passphrase),
        "timeout_seconds": 2.0,
    }
    values.update(overrides)
    return ExchangeConfig(**values)


def credentials_of(config: ExchangeConfig) -> Credentials:
    return Credentials(
        api_key=config.api_key,
        api_secret=config.api_secret,
        api_password=config.api_password,
        source="config",
    )


class Reports(list[tuple[ExchangeOrder, Fill | None]]):
    """What the tracker reported, in order."""

    async def __call__(self, order: ExchangeOrder, fill: Fill | None) -> None:
        self.append((order, fill))


def connect(
    config: ExchangeConfig, clock: TestClock, reports: Reports, settings: Resilience = FAST
) -> CcxtExchange:
    client, _ = build_client(config, credentials_of(config), rate_limit_ms=1)
    gateway = Gateway(config.id, clock=clock, settings=settings)
    return CcxtExchange(client, gateway, OrderTracker(reports))


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitgetTrading]:
    async with FakeBitgetTrading(balance=Decimal(10_000)) as server:
        server.set_price(BTC_ID, "60000")
        yield server


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
async def exchange(
    fake: FakeBitgetTrading, clock: TestClock, reports: Reports
) -> AsyncIterator[CcxtExchange]:
    live = connect(exchange_config(fake.url), clock, reports)
    await live.markets()
    yield live
    await live.close()
