"""Order checks and the record of one engine step (what the store writes and the bus hears).

`check_order` refuses what Bitget would: sizes off the step or under the minimum, prices off the
tick, orders worth less than the minimum notional. `StepRecorder` collects the changes of one
command or market event so that they are persisted in one transaction and then published.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from viper.domain import ExchangeOrder, Fill, MarketInfo
from viper.errors import InvalidOrderError
from viper.modules.exchange.markets import on_step
from viper.modules.exchange.state import (
    FundingPayment,
    NewOrder,
    PaperAccount,
    PaperOrder,
    PaperPosition,
    SymbolState,
)

Liquidity = Literal["maker", "taker"]


def _invalid(detail: str, field: str) -> InvalidOrderError:
    return InvalidOrderError(detail, field=field)


def check_order(new: NewOrder, market: MarketInfo, reference: Decimal) -> None:
    """InvalidOrderError naming the field unless the order fits the market's rules."""
    symbol = market.symbol
    if new.amount <= 0 or not on_step(new.amount, market.amount_step):
        raise _invalid(f"amount {new.amount} is not a multiple of {market.amount_step}", "amount")
    if new.amount < market.min_amount:
        raise _invalid(
            f"amount {new.amount} is under {symbol}'s minimum {market.min_amount}", "amount"
        )
    if new.type == "limit" and (new.price is None or new.price <= 0):
        raise _invalid("a limit order needs a positive price", "price")
    if new.type == "stop" and (new.stop_price is None or new.stop_price <= 0):
        raise _invalid("a stop order needs a positive stop_price", "stop_price")
    for field, value in (("price", new.price), ("stop_price", new.stop_price)):
        if value is not None and not on_step(value, market.price_step):
            raise _invalid(f"{field} {value} is not a multiple of {market.price_step}", field)
    if new.post_only and new.type != "limit":
        raise _invalid("post_only applies to limit orders only", "post_only")
    notional = new.amount * reference
    if not new.reduce_only and notional < market.min_notional:
        raise _invalid(
            f"order worth {notional:.4f} is under {symbol}'s minimum {market.min_notional}",
            "amount",
        )


class Step(msgspec.Struct, kw_only=True):
    """The changes of one engine step."""

    account: PaperAccount
    orders: list[PaperOrder] = msgspec.field(default_factory=list)
    positions: dict[str, PaperPosition | None] = msgspec.field(default_factory=dict)
    symbols: list[SymbolState] = msgspec.field(default_factory=list)
    fills: list[Fill] = msgspec.field(default_factory=list)
    funding: list[FundingPayment] = msgspec.field(default_factory=list)
    reports: list[tuple[ExchangeOrder, Fill | None]] = msgspec.field(default_factory=list)


class StepRecorder:
    """Collects what changes during one step; `take()` hands it over and starts afresh."""

    def __init__(self, account: PaperAccount) -> None:
        self._account = account
        self._orders: dict[str, PaperOrder] = {}
        self._positions: dict[str, PaperPosition | None] = {}
        self._symbols: dict[str, SymbolState] = {}
        self._fills: list[Fill] = []
        self._funding: list[FundingPayment] = []
        self._reports: list[tuple[ExchangeOrder, Fill | None] | None] = []
        self._plain: dict[str, int] = {}  # where an order's report without a fill sits

    def report(self, order: PaperOrder, fill: Fill | None) -> None:
        """The order changed (and `fill`, if any, is why): persist it and tell the bus.

        A report without a fill is superseded by a later report of the same order in the
        same step (an order filled on arrival is reported once, filled), as a venue's
        order channel sends only the latest state of an order it updated at once.
        """
        cid = order.client_order_id
        self._orders[cid] = order
        earlier = self._plain.pop(cid, None)
        if earlier is not None:
            self._reports[earlier] = None
        self._reports.append((order.view(), fill))
        if fill is None:
            self._plain[cid] = len(self._reports) - 1
        else:
            self._fills.append(fill)

    def position(self, symbol: str, position: PaperPosition | None) -> None:
        """The position in `symbol` changed; None means it is closed."""
        self._positions[symbol] = position

    def symbol(self, state: SymbolState) -> None:
        self._symbols[state.market.symbol] = state

    def funding(self, payment: FundingPayment) -> None:
        self._funding.append(payment)

    def take(self) -> Step:
        step = Step(
            account=self._account,
            orders=list(self._orders.values()),
            positions=dict(self._positions),
            symbols=list(self._symbols.values()),
            fills=self._fills,
            funding=self._funding,
            reports=[r for r in self._reports if r is not None],
        )
        self._orders, self._positions, self._symbols = {}, {}, {}
        self._fills, self._funding, self._reports = [], [], []
        self._plain = {}
        return step
