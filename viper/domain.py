"""The shared vocabulary: candles, scores, signals, orders, fills and positions.

Prices and sizes that cross the exchange edge are `Decimal`; candles and scores are floats,
as the backtester works on float arrays.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

Side = Literal["buy", "sell"]
Direction = Literal["long", "short"]
OrderType = Literal["market", "limit", "stop"]
OrderState = Literal[
    "pending",
    "submitted",
    "open",
    "partially_filled",
    "filled",
    "cancelled",
    "rejected",
    "expired",
]
TERMINAL_ORDER_STATES: frozenset[str] = frozenset({"filled", "cancelled", "rejected", "expired"})


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every shared noun: immutable, keyword-only."""


class Candle(Record, frozen=True):
    """One OHLCV bar; `ts_ms` is the open time in UTC milliseconds."""

    ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Score(Record, frozen=True):
    """The VIPER score of one symbol at one bar, with its four components (each 0..100)."""

    ts_ms: int
    score: float
    direction: Direction
    volume: float
    price: float
    range: float
    external: float


class Signal(Record, frozen=True):
    """A score at or above the threshold: a reason to trade in `direction`."""

    ts_ms: int
    symbol: str
    timeframe: str
    direction: Direction
    score: float
    price: float


class Order(Record, frozen=True):
    """An order as the journal knows it."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    state: OrderState = "pending"
    filled: Decimal = Decimal(0)
    average_price: Decimal | None = None
    exchange_order_id: str | None = None
    created_ms: int = 0
    updated_ms: int = 0


class Fill(Record, frozen=True):
    """One execution of (part of) an order."""

    fill_id: str
    client_order_id: str
    symbol: str
    side: Side
    amount: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str = "USDT"
    liquidity: Literal["maker", "taker"] = "taker"
    ts_ms: int = 0


class Position(Record, frozen=True):
    """An open position in one symbol (size 0 means flat)."""

    symbol: str
    direction: Direction
    size: Decimal
    entry_price: Decimal
    leverage: Decimal = Decimal(1)
    margin: Decimal = Decimal(0)
    liquidation_price: Decimal | None = None
    unrealized_pnl: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    ts_ms: int = 0


ExchangeOrderStatus = Literal["open", "closed", "canceled", "rejected", "expired"]


class MarketInfo(Record, frozen=True):
    """What the exchange allows on one market: steps, minimums, leverage, fees, margin rate."""

    symbol: str
    base: str
    quote: str
    settle: str
    contract_size: Decimal = Decimal(1)
    amount_step: Decimal = Decimal("0.001")
    price_step: Decimal = Decimal("0.1")
    min_amount: Decimal = Decimal("0.001")
    min_notional: Decimal = Decimal(5)
    max_leverage: int = 125
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0006")
    maintenance_margin_rate: Decimal = Decimal("0.004")


class ExchangeOrder(Record, frozen=True):
    """An order as the exchange reports it."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    status: ExchangeOrderStatus
    exchange_order_id: str | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    filled: Decimal = Decimal(0)
    average_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    reduce_only: bool = False
    ts_ms: int = 0


class Balance(Record, frozen=True):
    """The account's settlement currency: total equity, free and used margin."""

    currency: str
    total: Decimal
    free: Decimal
    used: Decimal
    unrealized_pnl: Decimal = Decimal(0)
