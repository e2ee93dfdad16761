"""Routes of the exchange module: orders, balance, positions and markets (read-only).

Orders are not placed here: they go through risk and the order manager, so `POST /orders`
answers 405.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.http import ApiRoute, json_response, module_of, query_as
from viper.modules.exchange.views import (
    Account,
    BalanceReport,
    MarketList,
    OrderPage,
    OrdersQuery,
    PositionList,
    balance_report,
    markets_list,
    orders_page,
    positions_list,
)


@runtime_checkable
class ExchangeView(Protocol):
    """What these handlers need of the exchange module."""

    @property
    def account(self) -> Account: ...


async def list_orders(request: Request) -> Response:
    """Open orders (`status=all`: every order seen), optionally of one symbol, paginated."""
    account = module_of(request, ExchangeView).account
    return json_response(await orders_page(account, query_as(request, OrdersQuery)))


async def get_balance(request: Request) -> Response:
    """The settlement-currency balance: equity, free and used margin, unrealized PnL."""
    return json_response(await balance_report(module_of(request, ExchangeView).account))


async def list_positions(request: Request) -> Response:
    """Open positions with entry, margin, liquidation price and PnL."""
    return json_response(await positions_list(module_of(request, ExchangeView).account))


async def list_markets(request: Request) -> Response:
    """Tradable markets: steps, minimums, leverage cap, fees, maintenance margin rate."""
    return json_response(await markets_list(module_of(request, ExchangeView).account))


routes: list[BaseRoute] = [
    ApiRoute("/orders", list_orders, query=OrdersQuery, response=OrderPage),
    ApiRoute("/balance", get_balance, response=BalanceReport),
    ApiRoute("/positions", list_positions, response=PositionList),
    ApiRoute("/markets", list_markets, response=MarketList),
]
