"""Routes of the mcp module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/", ("GET", "POST", "DELETE"), "the MCP endpoint"),
]
