"""The logger module: centralized logger: log index, tail and search."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.logger.routes import routes
from viper.modules.skeleton import SkeletonModule


class LoggerModule(SkeletonModule):
    """Centralized logger: log index, tail and search."""

    name = "logger"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
