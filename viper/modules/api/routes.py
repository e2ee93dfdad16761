"""Routes of the api module."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.http import ApiRoute, json_response, module_of
from viper.modules.api.nodes import NodeView
from viper.modules.skeleton import planned
from viper.runner import ModuleStatus


@runtime_checkable
class ServicesView(Protocol):
    """What these handlers need of the api module."""

    @property
    def node(self) -> str: ...

    def services_status(self) -> list[ModuleStatus]: ...

    def other_nodes(self) -> list[NodeView]: ...


class ServicesStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Every module of the process, enabled or not."""

    node: str
    running: int
    enabled: int
    total: int
    services: list[ModuleStatus]
    nodes: list[NodeView]


async def services_status(request: Request) -> Response:
    """Every module: enabled or not, its state and health; and other processes on the bus."""
    api = module_of(request, ServicesView)
    modules = api.services_status()
    return json_response(
        ServicesStatus(
            node=api.node,
            running=sum(1 for m in modules if m.state == "running"),
            enabled=sum(1 for m in modules if m.enabled),
            total=len(modules),
            services=modules,
            nodes=api.other_nodes(),
        )
    )


routes: list[BaseRoute] = [
    ApiRoute("/services/status", services_status, response=ServicesStatus),
    planned("/metrics", ("GET",), "metrics summary"),
    planned("/backtest/start", ("POST",), "start a backtest"),
    planned("/risk/status", ("GET",), "risk status"),
    planned("/portfolio", ("GET",), "portfolio: equity and PnL"),
    planned("/positions", ("GET",), "open positions"),
]
