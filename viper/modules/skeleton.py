"""A module whose behaviour is not built yet: it owns its mount and health, and says so.

Each planned route answers 501 with a JSON message; it never pretends to work.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from viper.errors import NotImplementedYetError
from viper.modules.base import Health, ModuleContext


def planned(path: str, methods: Sequence[str], summary: str) -> Route:
    """A route that exists and answers 501 until its behaviour is built."""

    async def not_built(request: Request) -> Response:
        raise NotImplementedYetError(
            f"{request.method} {request.url.path}: {summary} is not built yet"
        )

    not_built.__doc__ = f"{summary} (not built yet: answers 501)"
    return Route(path, not_built, methods=list(methods), name=f"planned:{path}")


class SkeletonModule:
    """Base of modules that only hold their mount for now."""

    name: str = ""
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._started = False

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return []

    async def start(self, ctx: ModuleContext) -> None:
        self._started = True

    async def stop(self) -> None:
        self._started = False

    def health(self) -> Health:
        return Health(status="ok", detail="skeleton: routes answer 501 until built")
