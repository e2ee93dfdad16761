"""The MCP endpoint at /mcp/: MCP over streamable HTTP, behind VIPER's tokens and scopes.

POST carries JSON-RPC to the SDK's session manager once the caller is known (401 without one
while auth is on). A plain GET (no `text/event-stream` in Accept: a person or a probe, not an
MCP client) answers with a short description of the endpoint.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import msgspec
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from viper import __version__
from viper.auth import AUTH_KEY
from viper.errors import AuthError
from viper.http import json_response
from viper.modules.mcp.access import caller_of
from viper.protocols import TokenScope


@runtime_checkable
class McpView(Protocol):
    """What the endpoint needs of the mcp module."""

    auth_required: bool

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    def tool_names(self) -> list[str]: ...


class EndpointInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a plain GET of /mcp/ says."""

    server: str
    version: str
    transport: str
    endpoint: str
    auth: str
    tools: list[str]


def _accepts_sse(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"accept" and b"text/event-stream" in value:
            return True
    return False


class McpEndpoint:
    """MCP over streamable HTTP (POST JSON-RPC here; see the MCP specification)"""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        module = scope.get("viper.module")
        if not isinstance(module, McpView):
            raise RuntimeError("the MCP endpoint is not mounted under the mcp module")
        caller = caller_of(scope, module.auth_required)
        if caller is None:
            raise AuthError(
                "the MCP server needs an API token: send 'Authorization: Bearer <token>'",
                reason="missing",
            )
        scope[AUTH_KEY] = caller
        if scope["method"] == "GET" and not _accepts_sse(scope):
            info = EndpointInfo(
                server="viper",
                version=__version__,
                transport="streamable-http",
                endpoint=f"{scope.get('root_path', '')}/",
                auth="bearer token (scopes read, trade, admin)" if module.auth_required else "off",
                tools=module.tool_names(),
            )
            await json_response(info)(scope, receive, send)
            return
        await module.handle(scope, receive, send)


class ScopedRoute(Route):
    """A Route that declares the token scope the auth middleware asks of its callers."""

    def __init__(self, *args: Any, scope: TokenScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope


# Any token that may read reaches the endpoint (a POST would otherwise need `trade`); each
# tool then checks the scope it needs. No DELETE: the server is stateless, there are no
# sessions to end.
routes: list[BaseRoute] = [
    ScopedRoute("/", McpEndpoint(), methods=["GET", "POST"], name="mcp", scope="read"),
]
