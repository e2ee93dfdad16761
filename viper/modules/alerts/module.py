"""The alerts module: alert system: rules, channels and history."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.alerts.routes import routes
from viper.modules.skeleton import SkeletonModule


class AlertsModule(SkeletonModule):
    """Alert system: rules, channels and history."""

    name = "alerts"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
