"""The sync module: position synchronizer: reconciles the journal with the exchange."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.skeleton import SkeletonModule
from viper.modules.sync.routes import routes


class SyncModule(SkeletonModule):
    """Position synchronizer: reconciles the journal with the exchange."""

    name = "sync"
    requires: tuple[str, ...] = ("exchange", "order")

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
