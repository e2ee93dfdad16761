"""Routes of the order module: journaled orders, one order's lifecycle, cancel and replace.

`{order_id}` in a path is the order's client order id (VIPER's own, deterministic id).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.domain import OrderState, Side
from viper.errors import ValidationError
from viper.http import ApiRoute, json_response, module_of, query_as, read_json
from viper.modules.order.records import Lifecycle, OrderPage, OrderRecord

MAX_PAGE = 1000


@runtime_checkable
class OrderView(Protocol):
    """What these handlers need of the order module."""

    async def order_page(self, **filters: Any) -> OrderPage: ...

    async def order(self, client_order_id: str) -> OrderRecord: ...

    async def lifecycle(self, client_order_id: str) -> Lifecycle: ...

    async def cancel(self, client_order_id: str) -> OrderRecord: ...

    async def replace(
        self, client_order_id: str, price: Decimal | None, amount: Decimal | None
    ) -> OrderRecord: ...


class OrdersQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Filters of /orders (all optional) and the page wanted; newest orders first."""

    symbol: str | None = None
    state: OrderState | None = None
    side: Side | None = None
    since_ms: Annotated[int, Meta(ge=0)] | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE)] = 100
    offset: Annotated[int, Meta(ge=0)] = 0


class ReplaceBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The replacement's limit price and amount (default: the old price, what is left)."""

    price: Decimal | None = None
    amount: Decimal | None = None


def _positive(value: Decimal | None, field: str) -> None:
    if value is not None and (not value.is_finite() or value <= 0):
        raise ValidationError(f"{field}: must be a positive number", field=field)


async def list_orders(request: Request) -> Response:
    """Journaled orders, newest first; filter by symbol, state, side, since_ms; paginated."""
    query = query_as(request, OrdersQuery)
    page = await module_of(request, OrderView).order_page(**msgspec.structs.asdict(query))
    return json_response(page)


async def get_order(request: Request) -> Response:
    """One order as journaled."""
    cid = request.path_params["order_id"]
    return json_response(await module_of(request, OrderView).order(cid))


async def get_lifecycle(request: Request) -> Response:
    """The full history of one order: every transition and fill, oldest first."""
    cid = request.path_params["order_id"]
    return json_response(await module_of(request, OrderView).lifecycle(cid))


async def cancel_order(request: Request) -> Response:
    """Cancel an order at the exchange; 409 when it has already ended."""
    cid = request.path_params["order_id"]
    return json_response(await module_of(request, OrderView).cancel(cid))


async def replace_order(request: Request) -> Response:
    """Cancel a limit order and send a linked replacement; answers the replacement."""
    cid = request.path_params["order_id"]
    body = await read_json(request, ReplaceBody)
    _positive(body.price, "price")
    _positive(body.amount, "amount")
    return json_response(await module_of(request, OrderView).replace(cid, body.price, body.amount))


routes: list[BaseRoute] = [
    ApiRoute("/orders", list_orders, query=OrdersQuery, response=OrderPage),
    ApiRoute("/orders/{order_id}", get_order, response=OrderRecord),
    ApiRoute("/lifecycle/{order_id}", get_lifecycle, response=Lifecycle),
    ApiRoute("/orders/{order_id}/cancel", cancel_order, methods=["POST"], response=OrderRecord),
    ApiRoute(
        "/orders/{order_id}/replace",
        replace_order,
        methods=["POST"],
        body=ReplaceBody,
        response=OrderRecord,
    ),
]
