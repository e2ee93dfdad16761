"""An app running the alerts module, with fast retries, channels given per test, and helpers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_config
from tests.fakes.bitget_ws import eventually
from viper.app import ViperApp
from viper.events import TradeRejected
from viper.modules.alerts.module import AlertsModule
from viper.protocols import SecretStore

FAST_RETRY = {
    "retry_attempts": 3,
    "retry_base_delay_seconds": 0.01,
    "retry_max_delay_seconds": 0.02,
}
TS = 1_700_000_000_000


def rejected(symbol: str = "BTC/USDT:USDT", reason: str = "daily_loss_limit") -> TradeRejected:
    return TradeRejected(ts_ms=TS, intent_id="intent-1", symbol=symbol, reason=reason)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path,
    channels: list[dict[str, Any]],
    vault: SecretStore | None = None,
    **alerts: Any,
) -> AsyncIterator[ViperApp]:
    """The alerts module (and `vault`, as SecretStore) in a started app."""
    config = make_config(
        tmp_path,
        modules={"enabled": ["alerts"]},
        alerts={**FAST_RETRY, "channels": channels, **alerts},
    )
    app = ViperApp(config)
    if vault is not None:
        app.services.provide(SecretStore, vault)
    async with app.running():
        yield app


def module(app: ViperApp) -> AlertsModule:
    found = app.modules["alerts"]
    assert isinstance(found, AlertsModule)
    return found


async def settle(app: ViperApp, raised: int) -> None:
    """Wait until `raised` alerts exist and every delivery has finished."""
    alerts = module(app)
    await eventually(lambda: alerts.alerter.raised >= raised)
    await alerts.dispatcher.drain()


def client(app: ViperApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.http), base_url="http://viper")
