"""What the exchange's routes return: pages of orders, positions, balance and markets.

Plain functions over an account (`Account`: the `Exchange` protocol plus `all_orders`), so the
handlers stay one line and tests call these directly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Protocol

import msgspec
from msgspec import Meta

from viper.domain import ExchangeOrder, MarketInfo, Position
from viper.protocols import Exchange

MAX_PAGE = 500


class Account(Exchange, Protocol):
    """An exchange that can also list every order it has seen."""

    async def all_orders(self, symbol: str | None = None) -> list[ExchangeOrder]: ...


class OrdersQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`GET /exchange/orders` parameters."""

    symbol: str | None = None
    status: Literal["open", "all"] = "open"
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE)] = 100
    offset: Annotated[int, Meta(ge=0)] = 0


class OrderPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of orders, oldest first; `next_offset` is None on the last page."""

    exchange: str
    status: str
    total: int
    count: int
    offset: int
    next_offset: int | None
    orders: list[ExchangeOrder]


class PositionList(msgspec.Struct, frozen=True, kw_only=True):
    exchange: str
    count: int
    positions: list[Position]


class BalanceReport(msgspec.Struct, frozen=True, kw_only=True):
    """The settlement-currency balance: equity, free and used margin, unrealized PnL."""

    exchange: str
    currency: str
    total: Decimal
    free: Decimal
    used: Decimal
    unrealized_pnl: Decimal


class MarketList(msgspec.Struct, frozen=True, kw_only=True):
    exchange: str
    count: int
    markets: list[MarketInfo]


async def orders_page(account: Account, query: OrdersQuery) -> OrderPage:
    """Open (or all) orders, optionally of one symbol, paginated by offset."""
    if query.status == "open":
        orders = await account.fetch_open_orders(query.symbol)
        orders.sort(key=lambda o: (o.ts_ms, o.client_order_id))
    else:
        orders = await account.all_orders(query.symbol)
    page = orders[query.offset : query.offset + query.limit]
    end = query.offset + len(page)
    return OrderPage(
        exchange=account.id,
        status=query.status,
        total=len(orders),
        count=len(page),
        offset=query.offset,
        next_offset=end if end < len(orders) else None,
        orders=page,
    )


async def positions_list(account: Exchange) -> PositionList:
    positions = await account.fetch_positions()
    return PositionList(exchange=account.id, count=len(positions), positions=positions)


async def balance_report(account: Exchange) -> BalanceReport:
    balance = await account.fetch_balance()
    return BalanceReport(
        exchange=account.id,
        currency=balance.currency,
        total=balance.total,
        free=balance.free,
        used=balance.used,
        unrealized_pnl=balance.unrealized_pnl,
    )


async def markets_list(account: Exchange) -> MarketList:
    markets = [m for _, m in sorted((await account.markets()).items())]
    return MarketList(exchange=account.id, count=len(markets), markets=markets)
