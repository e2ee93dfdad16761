"""The data module: data manager: the candle store, imports and downloads."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.data.routes import routes
from viper.modules.skeleton import SkeletonModule


class DataModule(SkeletonModule):
    """Data manager: the candle store, imports and downloads."""

    name = "data"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
