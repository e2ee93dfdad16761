"""The MCP endpoint's own checks: who the caller is, what scope each tool needs, and the
refusal of a request that reaches it without a caller while auth is on."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from viper.auth import AUTH_KEY, OPEN, Principal
from viper.errors import ForbiddenError
from viper.http import EXCEPTION_HANDLERS, BindModule
from viper.modules.mcp.access import caller_of, require
from viper.modules.mcp.routes import routes

READER = Principal(token_id="t1", name="dashboard", scopes=("read",), via="bearer")
TRADER = Principal(token_id="t2", name="assistant", scopes=("trade",), via="bearer")


def test_the_caller_is_the_principal_or_the_open_admin_while_auth_is_off() -> None:
    assert caller_of({AUTH_KEY: READER}, auth_required=True) is READER
    assert caller_of({}, auth_required=True) is None
    assert caller_of({AUTH_KEY: None}, auth_required=False) is OPEN
    assert caller_of({AUTH_KEY: "not a principal"}, auth_required=True) is None


def test_scopes_rank_read_below_trade_below_admin() -> None:
    require(TRADER, "read", "get_portfolio")
    require(TRADER, "trade", "place_order")
    require(OPEN, "admin", "anything")
    with pytest.raises(ForbiddenError) as refused:
        require(READER, "trade", "place_order")
    assert refused.value.extra["needed"] == "trade"
    assert "place_order needs the 'trade' scope" in refused.value.detail
    assert "t1 (dashboard) has read" in refused.value.detail


class FakeMcp:
    """Stands in for the mcp module: records what reaches the SDK."""

    def __init__(self, auth_required: bool) -> None:
        self.auth_required = auth_required
        self.callers: list[Any] = []

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.callers.append(scope.get(AUTH_KEY))
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def tool_names(self) -> list[str]:
        return ["get_portfolio"]


@contextlib.asynccontextmanager
async def client_for(module: FakeMcp) -> AsyncIterator[httpx.AsyncClient]:
    mount = Mount("/mcp", routes=routes, middleware=[Middleware(BindModule, module=module)])
    app = Starlette(routes=[mount], exception_handlers=dict(EXCEPTION_HANDLERS))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as client:
        yield client


async def test_a_request_without_a_caller_is_refused_while_auth_is_on() -> None:
    module = FakeMcp(auth_required=True)
    async with client_for(module) as client:
        response = await client.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["reason"] == "missing"
    assert module.callers == []


async def test_with_auth_off_the_caller_is_the_open_admin() -> None:
    module = FakeMcp(auth_required=False)
    async with client_for(module) as client:
        response = await client.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        info = await client.get("/mcp/")
    assert response.status_code == 202
    assert module.callers == [OPEN]
    assert info.json()["auth"] == "off" and info.json()["tools"] == ["get_portfolio"]


def test_the_endpoint_asks_the_auth_middleware_for_read_only() -> None:
    assert [getattr(route, "scope", None) for route in routes] == ["read"]
