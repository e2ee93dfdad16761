"""The signal module: signal processor: VIPER scores and signals."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.signal.routes import routes
from viper.modules.skeleton import SkeletonModule


class SignalModule(SkeletonModule):
    """Signal processor: VIPER scores and signals."""

    name = "signal"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
