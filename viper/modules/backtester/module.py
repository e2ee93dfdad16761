"""The backtester module: ultra Backtester: runs backtests and stores their results."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.backtester.routes import routes
from viper.modules.skeleton import SkeletonModule


class BacktesterModule(SkeletonModule):
    """Ultra Backtester: runs backtests and stores their results."""

    name = "backtester"
    requires: tuple[str, ...] = ("data",)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
