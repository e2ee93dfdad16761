"""The web module: serves the dashboard page at `/`."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.skeleton import SkeletonModule
from viper.modules.web.routes import routes


class WebModule(SkeletonModule):
    """The dashboard; for now a status page that reads /api/services/status."""

    name = "web"
    requires: tuple[str, ...] = ("api",)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
