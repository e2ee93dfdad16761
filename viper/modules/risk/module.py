"""The risk module: risk manager: the pre-trade gate, limits and kill switch."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.risk.routes import routes
from viper.modules.skeleton import SkeletonModule


class RiskModule(SkeletonModule):
    """Risk manager: the pre-trade gate, limits and kill switch."""

    name = "risk"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
