"""Canonical objects for the paper exchange's tests: an engine, ticks, bars and orders."""

from __future__ import annotations

from decimal import Decimal

from viper.domain import Candle, OrderType, Side
from viper.modules.exchange.engine import PaperEngine
from viper.modules.exchange.state import NewOrder, PaperSettings

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC: a funding time
MINUTE = 60_000
HOUR = 3_600_000
D = Decimal


def engine(**settings: object) -> PaperEngine:
    return PaperEngine(PaperSettings(**settings))  # type: ignore[arg-type]


def tick(
    paper: PaperEngine,
    last: float,
    *,
    bid: float | None = None,
    ask: float | None = None,
    ts: int = T0,
    symbol: str = BTC,
) -> None:
    paper.on_tick(symbol, last, bid, ask, ts)


def bar(
    paper: PaperEngine,
    *,
    open: float,
    high: float,
    low: float,
    close: float,
    volume: float = 100.0,
    ts: int = T0 + MINUTE,
    symbol: str = BTC,
    timeframe: str = "1m",
) -> None:
    """A 1m bar that closes at `ts` (events carry the close time)."""
    candle = Candle(ts_ms=ts - MINUTE, open=open, high=high, low=low, close=close, volume=volume)
    paper.on_candle(symbol, timeframe, candle, ts)


def new(
    cid: str,
    side: Side,
    type: OrderType = "market",
    amount: str = "0.010",
    *,
    price: str | None = None,
    stop: str | None = None,
    reduce_only: bool = False,
    post_only: bool = False,
    symbol: str = BTC,
) -> NewOrder:
    return NewOrder(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        type=type,
        amount=D(amount),
        price=D(price) if price is not None else None,
        stop_price=D(stop) if stop is not None else None,
        reduce_only=reduce_only,
        post_only=post_only,
    )
