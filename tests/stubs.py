"""Canonical objects for tests, built in one place."""

from __future__ import annotations

from decimal import Decimal

from viper.domain import Candle
from viper.events import CandleClosed, OrderRequest, Ticker

TS = 1_700_000_000_000


def ticker(last: float = 100.0, symbol: str = "BTC/USDT:USDT", ts_ms: int = TS) -> Ticker:
    return Ticker(ts_ms=ts_ms, exchange="paper", symbol=symbol, last=last)


def candle_closed(
    close: float = 100.0, ts_ms: int = TS, symbol: str = "BTC/USDT:USDT"
) -> CandleClosed:
    candle = Candle(
        ts_ms=ts_ms, open=close, high=close * 1.01, low=close * 0.99, close=close, volume=10.0
    )
    return CandleClosed(ts_ms=ts_ms, exchange="paper", symbol=symbol, timeframe="1m", candle=candle)


def order_request(amount: str = "0.010", price: str | None = "65000.5") -> OrderRequest:
    return OrderRequest(
        ts_ms=TS,
        client_order_id="viper-test-1",
        symbol="BTC/USDT:USDT",
        side="buy",
        order_type="limit",
        amount=Decimal(amount),
        price=Decimal(price) if price is not None else None,
    )
