"""The order module: order lifecycle manager: the order journal and state machine."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.order.routes import routes
from viper.modules.skeleton import SkeletonModule


class OrderModule(SkeletonModule):
    """Order lifecycle manager: the order journal and state machine."""

    name = "order"
    requires: tuple[str, ...] = ("exchange",)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
