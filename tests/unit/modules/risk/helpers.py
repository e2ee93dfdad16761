"""A recording in-memory exchange account and canonical intents for the risk tests."""

from __future__ import annotations

from decimal import Decimal

from viper.domain import Balance, ExchangeOrder, MarketInfo, OrderType, Position, Side
from viper.events import TradeIntent

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
MARKETS = {
    BTC: MarketInfo(
        symbol=BTC,
        base="BTC",
        quote="USDT",
        settle="USDT",
        amount_step=Decimal("0.001"),
        min_amount=Decimal("0.001"),
        min_notional=Decimal(5),
        max_leverage=125,
    ),
    ETH: MarketInfo(
        symbol=ETH,
        base="ETH",
        quote="USDT",
        settle="USDT",
        amount_step=Decimal("0.01"),
        min_amount=Decimal("0.01"),
        min_notional=Decimal(5),
        max_leverage=100,
    ),
}


class RecordingExchange:
    """An account with a settable balance and positions that records every order it gets."""

    id = "recording"

    def __init__(self, equity: float = 10_000.0, free: float | None = None) -> None:
        self.balance = Balance(
            currency="USDT",
            total=Decimal(repr(equity)),
            free=Decimal(repr(equity if free is None else free)),
            used=Decimal(0),
        )
        self.open_positions: list[Position] = []
        self.orders: list[dict[str, object]] = []
        self.leverage: dict[str, int] = {}

    def set_equity(self, equity: float) -> None:
        self.balance = Balance(
            currency="USDT",
            total=Decimal(repr(equity)),
            free=Decimal(repr(equity)),
            used=Decimal(0),
        )

    def hold(self, symbol: str, size: str, entry: float, direction: str = "long") -> None:
        self.open_positions = [p for p in self.open_positions if p.symbol != symbol]
        self.open_positions.append(
            Position(
                symbol=symbol,
                direction=direction,  # type: ignore[arg-type]
                size=Decimal(size),
                entry_price=Decimal(repr(entry)),
            )
        )

    async def markets(self) -> dict[str, MarketInfo]:
        return dict(MARKETS)

    async def create_order(
        self,
        *,
        client_order_id: str,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: Decimal,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
    ) -> ExchangeOrder:
        self.orders.append(
            {
                "client_order_id": client_order_id,
                "symbol": symbol,
                "side": side,
                "amount": amount,
                "reduce_only": reduce_only,
            }
        )
        return ExchangeOrder(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            type=type,
            amount=amount,
            status="open",
        )

    async def cancel_order(self, client_order_id: str, symbol: str) -> ExchangeOrder:
        raise NotImplementedError

    async def fetch_order(self, client_order_id: str, symbol: str) -> ExchangeOrder | None:
        return None

    async def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        return []

    async def fetch_positions(self) -> list[Position]:
        return list(self.open_positions)

    async def fetch_balance(self) -> Balance:
        return self.balance

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        self.leverage[symbol] = leverage


def intent(
    symbol: str = BTC,
    side: Side = "buy",
    purpose: str = "entry",
    price: float = 60_000.0,
    stop: float | None = 59_400.0,
    intent_id: str = "i-1",
    ts_ms: int = 1_700_000_000_000,
) -> TradeIntent:
    return TradeIntent(
        ts_ms=ts_ms,
        intent_id=intent_id,
        symbol=symbol,
        side=side,
        purpose=purpose,  # type: ignore[arg-type]
        price=price,
        stop_loss=stop,
        strategy="test",
    )
