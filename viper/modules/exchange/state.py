"""The paper exchange's state as plain records: settings, account, orders, positions, symbols.

Mutable msgspec Structs, so the engine updates them in place and the store writes them as JSON
(Decimals as strings, exact). Nothing here knows about HTTP, the bus or SQLite.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from viper.domain import ExchangeOrder, ExchangeOrderStatus, MarketInfo, OrderType, Side

FUNDING_INTERVAL_MS = 8 * 3_600_000  # Bitget funds at 00:00, 08:00 and 16:00 UTC
ZERO = Decimal(0)


class PaperSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the paper exchange simulates: balance, which bars drive fills, funding, leverage."""

    balance: Decimal = Decimal(10_000)
    currency: str = "USDT"
    timeframe: str = "1m"  # bars of this timeframe fill orders; others are ignored
    volume_share: Decimal = Decimal("0.1")  # share of a bar's volume resting limits may fill
    funding_rate: Decimal = Decimal("0.0001")  # per interval, unless a symbol has its own
    funding_interval_ms: int = FUNDING_INTERVAL_MS
    default_leverage: int = 10


class NewOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the caller asks for it."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False


class PaperOrder(msgspec.Struct, kw_only=True):
    """An order on the paper exchange and how far it has filled."""

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    status: ExchangeOrderStatus = "open"
    filled: Decimal = ZERO
    cost: Decimal = ZERO  # sum of price * amount over fills: the average's numerator
    fee: Decimal = ZERO
    reserved: Decimal = ZERO  # margin held for the unfilled part that would open exposure
    seq: int = 0
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def view(self) -> ExchangeOrder:
        """The order as the `Exchange` protocol reports it."""
        return ExchangeOrder(
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            amount=self.amount,
            status=self.status,
            exchange_order_id=self.exchange_order_id,
            price=self.price,
            stop_price=self.stop_price,
            filled=self.filled,
            average_price=self.cost / self.filled if self.filled else None,
            fee=self.fee,
            reduce_only=self.reduce_only,
            ts_ms=self.updated_ms,
        )


class PaperPosition(msgspec.Struct, kw_only=True):
    """A net (one-way) isolated position; `size` is signed: above zero long, below zero short."""

    symbol: str
    size: Decimal
    entry_price: Decimal
    leverage: int
    margin: Decimal
    realized_pnl: Decimal = ZERO
    funding: Decimal = ZERO  # net funding paid (received is negative)
    opened_ms: int = 0
    updated_ms: int = 0

    @property
    def direction(self) -> Literal["long", "short"]:
        return "long" if self.size > 0 else "short"


class Quote(msgspec.Struct, kw_only=True):
    """The latest prices seen for a symbol."""

    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    ts_ms: int = 0


class SymbolState(msgspec.Struct, kw_only=True):
    """What the engine keeps per symbol: its market, latest quote, leverage and funding rate."""

    market: MarketInfo
    leverage: int
    quote: Quote | None = None
    funding_rate: Decimal | None = None


class PaperAccount(msgspec.Struct, kw_only=True):
    """The wallet (cash: deposits, realized PnL, fees, funding) and the engine's counters."""

    currency: str = "USDT"
    wallet: Decimal = ZERO
    order_seq: int = 0
    fill_seq: int = 0
    now_ms: int = 0  # market time: the latest event timestamp seen
    funded_ms: int = 0  # the funding time last settled


class FundingPayment(msgspec.Struct, frozen=True, kw_only=True):
    """One funding settlement of one position; `amount` > 0 was paid, < 0 received."""

    symbol: str
    ts_ms: int
    rate: Decimal
    mark_price: Decimal
    size: Decimal
    amount: Decimal
