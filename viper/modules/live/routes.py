"""Routes of the live module: start, pause, stop and status of trading, positions, manual orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.auth.principal import actor_of
from viper.domain import Side
from viper.errors import ValidationError
from viper.events import OrderRequest
from viper.http import ApiRoute, json_response, module_of, read_json
from viper.modules.live.portfolio import ManagedView
from viper.modules.live.status import LiveStatus


class TradeControl(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """start: trade; pause: no new entries; stop: no entries and no signal exits.

    Protective stops keep working in every state; `flatten` (with stop) exits every position.
    """

    action: Literal["start", "pause", "stop"]
    flatten: bool = False


class ManualOrder(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A market order by hand, through the risk gate; `reduce_only` closes the whole position."""

    symbol: Annotated[str, Meta(min_length=1, max_length=64)]
    side: Side
    amount: Decimal
    leverage: Annotated[int, Meta(ge=1)] | None = None
    reduce_only: bool = False
    stop_loss: Annotated[float, Meta(gt=0)] | None = None

    def __post_init__(self) -> None:
        if not self.amount.is_finite() or self.amount <= 0:
            raise ValidationError(f"amount: must be positive, got {self.amount}", field="amount")


class ManagedPositions(msgspec.Struct, frozen=True, kw_only=True):
    """Positions the engine manages."""

    count: int
    positions: list[ManagedView]


@runtime_checkable
class LiveView(Protocol):
    """What these handlers need of the live module."""

    def status(self) -> LiveStatus: ...

    async def control(self, action: str, flatten: bool) -> LiveStatus: ...

    def managed(self) -> list[ManagedView]: ...

    async def place_manual(self, order: ManualOrder, actor: str) -> OrderRequest: ...


async def get_trade(request: Request) -> Response:
    """Trading state (running, paused, stopped), reduce-only reasons, strategy, counters."""
    return json_response(module_of(request, LiveView).status())


async def post_trade(request: Request) -> Response:
    """Start, pause or stop trading."""
    body = await read_json(request, TradeControl)
    return json_response(await module_of(request, LiveView).control(body.action, body.flatten))


async def get_positions(request: Request) -> Response:
    """Positions the engine manages, with their stop-loss, take-profit and trailing levels."""
    managed = module_of(request, LiveView).managed()
    return json_response(ManagedPositions(count=len(managed), positions=managed))


async def post_order(request: Request) -> Response:
    """Place a manual market order through the risk gate (422 with the reason when refused)."""
    body = await read_json(request, ManualOrder)
    order = await module_of(request, LiveView).place_manual(body, actor_of(request))
    return json_response(order, status_code=202)


routes: list[BaseRoute] = [
    ApiRoute("/trade", get_trade, response=LiveStatus),
    ApiRoute("/trade", post_trade, methods=["POST"], body=TradeControl, response=LiveStatus),
    ApiRoute("/positions", get_positions, response=ManagedPositions),
    ApiRoute(
        "/orders",
        post_order,
        methods=["POST"],
        body=ManualOrder,
        response=OrderRequest,
        status_code=202,
    ),
]
