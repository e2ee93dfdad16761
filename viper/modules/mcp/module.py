"""The mcp module: mCP server for AI assistants over streamable HTTP."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.mcp.routes import routes
from viper.modules.skeleton import SkeletonModule


class McpModule(SkeletonModule):
    """MCP server for AI assistants over streamable HTTP."""

    name = "mcp"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
