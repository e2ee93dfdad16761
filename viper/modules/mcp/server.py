"""The MCP server (the SDK's low-level `Server`): VIPER's tools and resources, with each
call checked against the caller's scopes.

Errors a tool meets are tool results with `isError` (JSON `{"error", "detail", ...}` as the
REST API answers), so an assistant can read them and correct itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from loguru import logger
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from viper import __version__
from viper.auth import Principal, principal_of
from viper.config import to_dict
from viper.errors import AuthError, ValidationError, ViperError
from viper.http import convert_as, encode
from viper.modules.mcp.access import require
from viper.modules.mcp.spec import Deps, ToolSpec, input_schema
from viper.protocols import AlertsSource

INSTRUCTIONS = (
    "VIPER is a crypto-futures trading bot. Read its portfolio, positions, VIPER scores and "
    "risk status; run backtests and read their results. Trading tools need the 'trade' "
    "scope; place_order goes through the risk manager and needs confirm: true."
)
RECENT_ALERTS = 50
CONFIG_URI = "viper://config"
ALERTS_URI = "viper://alerts/recent"
RESOURCES = (
    types.Resource(
        name="config",
        title="Effective configuration",
        uri=CONFIG_URI,
        description="Every setting in force, secrets masked",
        mime_type="application/json",
    ),
    types.Resource(
        name="recent_alerts",
        title="Recent alerts",
        uri=ALERTS_URI,
        description=f"The newest {RECENT_ALERTS} alerts, newest first",
        mime_type="application/json",
    ),
)


def caller_in(ctx: ServerRequestContext[Any, Any]) -> Principal:
    """The caller of the HTTP request that carried this message (checked by the endpoint)."""
    request = ctx.request
    caller = principal_of(request.scope) if request is not None else None
    if caller is None:
        raise AuthError("no authenticated caller", reason="missing")
    return caller


def listed(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=input_schema(spec.args, spec.field_docs),
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            open_world_hint=False,
        ),
    )


def result(value: Any, *, error: bool = False) -> types.CallToolResult:
    """A tool result: the JSON text, and the same as structured content (an object)."""
    raw = encode(value)
    data = msgspec.json.decode(raw)
    return types.CallToolResult(
        content=[types.TextContent(text=raw.decode())],
        structured_content=data if isinstance(data, dict) else {"result": data},
        is_error=error,
    )


async def call(deps: Deps, spec: ToolSpec, caller: Principal, arguments: dict[str, Any]) -> Any:
    """Check the scope, validate the arguments, run the tool."""
    require(caller, spec.scope, spec.name)
    args = convert_as(arguments, spec.args)
    return await spec.run(deps, caller, args)


class Handlers:
    """The SDK server's request handlers over VIPER's tools and resources."""

    def __init__(self, deps: Deps, tools: Sequence[ToolSpec]) -> None:
        self.deps = deps
        self.specs = {spec.name: spec for spec in tools}
        self.catalog = [listed(spec) for spec in tools]

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.catalog)

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """Run a tool; every failure is a result with `isError`, never a protocol error."""
        spec = self.specs.get(params.name)
        try:
            if spec is None:
                raise ValidationError(f"no tool named {params.name!r}", field="name")
            return result(await call(self.deps, spec, caller_in(ctx), params.arguments or {}))
        except ViperError as exc:
            return result(exc.to_dict(), error=True)
        except Exception:
            logger.exception("MCP tool {} failed", params.name)
            internal = {"error": "internal", "detail": "internal error; see the log"}
            return result(internal, error=True)

    async def list_resources(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=list(RESOURCES))

    async def read_resource(
        self, ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        try:
            require(caller_in(ctx), "read", f"reading {params.uri}")
            body = await resource_body(self.deps, str(params.uri))
        except ViperError as exc:
            raise MCPError(types.INVALID_PARAMS, exc.detail, exc.to_dict()) from None
        contents = types.TextResourceContents(
            uri=params.uri, mime_type="application/json", text=encode(body).decode()
        )
        return types.ReadResourceResult(contents=[contents])


def build_server(deps: Deps, tools: Sequence[ToolSpec]) -> Server[Any]:
    """The SDK's low-level server over `tools` and VIPER's resources."""
    handlers = Handlers(deps, tools)
    return Server(
        "viper",
        version=__version__,
        title="VIPER trading bot",
        instructions=INSTRUCTIONS,
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        on_list_resources=handlers.list_resources,
        on_read_resource=handlers.read_resource,
    )


async def resource_body(deps: Deps, uri: str) -> Any:
    """The content behind one resource URI."""
    if uri == CONFIG_URI:
        return to_dict(deps.config)
    if uri == ALERTS_URI:
        return await deps.need(AlertsSource, "alerts").recent_alerts(RECENT_ALERTS)
    raise ValidationError(f"no resource {uri!r}; see resources/list", field="uri")
