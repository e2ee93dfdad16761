"""The mcp module: an MCP server for AI assistants over streamable HTTP, mounted at /mcp.

It builds the official SDK's low-level `Server` with VIPER's tools and resources and runs the
SDK's `StreamableHTTPSessionManager` (stateless, JSON responses) in a task of its own until
`stop`, so the app needs no second lifespan. The SDK (about 50 MB and half a second to
import) loads with the first MCP request, not with the process. Requests reach it through the
endpoint in `routes.py`, after the caller's token and scopes are known.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from viper.bus import Subscription
from viper.errors import TemporaryError
from viper.events import OrderRequest, TradeRejected
from viper.modules.base import Health, ModuleContext
from viper.modules.mcp.access import auth_enabled
from viper.modules.mcp.intents import IntentWaiter
from viper.modules.mcp.routes import routes
from viper.modules.mcp.spec import Deps, ToolSpec
from viper.modules.mcp.tools import READ_TOOLS
from viper.modules.mcp.trading import TRADING_TOOLS

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings

ORDER_TIMEOUT_SECONDS = 10.0  # how long place_order waits for the risk manager's answer
STOP_TIMEOUT_SECONDS = 5.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def transport_security(host: str, auth_required: bool) -> TransportSecuritySettings | None:
    """DNS-rebinding protection (Host and Origin checks, as the SDK sets up for loopback)
    while auth is off and the server listens on loopback only. With auth on, a page a
    rebinding attack serves has no token; and a proxy in front may send any Host."""
    if auth_required or host not in LOOPBACK:
        return None
    from mcp.server.transport_security import TransportSecuritySettings

    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class McpModule:
    """MCP server: portfolio, scores, risk, backtests and (with the trade scope) orders."""

    name = "mcp"
    requires: tuple[str, ...] = ()

    def __init__(self, tools: Sequence[ToolSpec] = (*READ_TOOLS, *TRADING_TOOLS)) -> None:
        self.tools = tuple(tools)
        self.auth_required = True
        self.order_timeout = ORDER_TIMEOUT_SECONDS
        self._ctx: ModuleContext | None = None
        self._manager: StreamableHTTPSessionManager | None = None
        self._intents = IntentWaiter()
        self._subs: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._starting = asyncio.Lock()
        self._started = False

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        """Subscribe to intent answers; the server starts with the first request."""
        self._ctx = ctx
        self.auth_required = auth_enabled(ctx.config)
        self._intents = IntentWaiter()
        self._subs = [
            ctx.bus.subscribe(OrderRequest, self._intents.on_answer, name="mcp.approved"),
            ctx.bus.subscribe(TradeRejected, self._intents.on_answer, name="mcp.rejected"),
        ]
        self._stopping = asyncio.Event()
        self._starting = asyncio.Lock()
        self._started = True

    async def _session_manager(self) -> StreamableHTTPSessionManager:
        """The running session manager: built, with the server, on first use."""
        async with self._starting:
            if self._manager is not None:
                return self._manager
            ctx = self._ctx
            if ctx is None or self._stopping.is_set():
                raise TemporaryError("the mcp module is not running", module="mcp")
            from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

            from viper.modules.mcp.server import build_server

            deps = Deps(
                config=ctx.config,
                services=ctx.services,
                bus=ctx.bus,
                clock=ctx.clock,
                store=ctx.store,
                intents=self._intents,
                order_timeout=self.order_timeout,
            )
            manager = StreamableHTTPSessionManager(
                build_server(deps, self.tools),
                json_response=True,
                stateless=True,
                security_settings=transport_security(ctx.config.server.host, self.auth_required),
            )
            ready = asyncio.Event()
            # The manager's task group must be entered and left by one task: this one.
            self._task = asyncio.create_task(self._serve(manager, ready), name="mcp.sessions")
            waiter = asyncio.ensure_future(ready.wait())
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if self._task.done():
                self._task.result()  # raises what stopped the manager
                raise RuntimeError("the MCP session manager stopped at start")
            self._manager = manager
            return manager

    async def _serve(self, manager: StreamableHTTPSessionManager, ready: asyncio.Event) -> None:
        async with manager.run():
            ready.set()
            await self._stopping.wait()

    async def stop(self) -> None:
        """Stop taking requests, end the session manager, unsubscribe; safe twice."""
        self._manager = None
        self._started = False
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            for sub in self._subs:
                ctx.bus.unsubscribe(sub)
        self._subs = []

    def health(self) -> Health:
        if not self._started:
            return Health(status="down", detail="not started")
        checks = {
            "tools": len(self.tools),
            "sessions": "running" if self._manager is not None else "start on first request",
            "auth": "on" if self.auth_required else "off",
            "orders_awaiting_risk": self._intents.waiting,
        }
        return Health(status="ok", checks=checks)

    # --- what the endpoint needs ----------------------------------------------------------

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one MCP HTTP request (the caller is already checked)."""
        manager = self._manager or await self._session_manager()
        await manager.handle_request(scope, receive, send)

    def tool_names(self) -> list[str]:
        return [tool.name for tool in self.tools]
