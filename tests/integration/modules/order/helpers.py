"""Helpers of the order and sync integration tests: the app with the paper exchange."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_config
from viper.app import ViperApp
from viper.config import Config
from viper.domain import Candle, OrderType, Side
from viper.events import CandleClosed, OrderRequest, Ticker

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
MODULES = ["exchange", "order", "sync"]


def app_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    """Paper exchange, order and sync modules; quick polls and reconciliations."""
    defaults: dict[str, dict[str, Any]] = {
        "modules": {"enabled": MODULES},
        "order": {"poll_seconds": 0.2},
        "sync": {"interval_seconds": 0.5},
    }
    for name, values in sections.items():
        defaults.setdefault(name, {}).update(values)
    return make_config(tmp_path, **defaults)


def ticker(app: ViperApp, price: float, symbol: str = BTC) -> Ticker:
    spread = price * 0.00001
    return Ticker(
        ts_ms=app.clock.now_ms(),
        exchange="paper",
        symbol=symbol,
        last=price,
        bid=round(price - spread, 1),
        ask=round(price + spread, 1),
    )


def bar(app: ViperApp, low: float, high: float, symbol: str = BTC) -> CandleClosed:
    """A closed 1m bar with plenty of volume: resting limits inside it fill."""
    now = app.clock.now_ms()
    candle = Candle(ts_ms=now - 60_000, open=high, high=high, low=low, close=low, volume=1_000.0)
    return CandleClosed(ts_ms=now, exchange="paper", symbol=symbol, timeframe="1m", candle=candle)


def order_request(
    cid: str,
    *,
    side: Side = "buy",
    order_type: OrderType = "limit",
    amount: str = "0.01",
    price: str | None = "30000",
    symbol: str = BTC,
) -> OrderRequest:
    return OrderRequest(
        ts_ms=int(time.time() * 1000),
        client_order_id=cid,
        symbol=symbol,
        side=side,
        order_type=order_type,
        amount=Decimal(amount),
        price=Decimal(price) if price is not None else None,
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 10.0, what: str = "condition"
) -> None:
    """Wait until `check()` is true; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.02)


async def order_state(app: ViperApp, cid: str) -> str | None:
    rows = await app.store.execute("SELECT state FROM orders WHERE client_order_id = ?", (cid,))
    return rows[0][0] if rows else None


def client_for(app: ViperApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.http), base_url="http://viper")
