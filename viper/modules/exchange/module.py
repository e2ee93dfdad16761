"""The exchange module: exchange connector: ccxt and the paper exchange."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.exchange.routes import routes
from viper.modules.skeleton import SkeletonModule


class ExchangeModule(SkeletonModule):
    """Exchange connector: ccxt and the paper exchange."""

    name = "exchange"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
