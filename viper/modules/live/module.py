"""The live module: live trading engine: runs strategies on signals."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.live.routes import routes
from viper.modules.skeleton import SkeletonModule


class LiveModule(SkeletonModule):
    """Live trading engine: runs strategies on signals."""

    name = "live"
    requires: tuple[str, ...] = ("signal", "risk", "order")

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
