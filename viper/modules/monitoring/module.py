"""The monitoring module: monitoring: metrics summary and health."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.monitoring.routes import routes
from viper.modules.skeleton import SkeletonModule


class MonitoringModule(SkeletonModule):
    """Monitoring: metrics summary and health."""

    name = "monitoring"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
