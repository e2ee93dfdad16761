"""The streamer module: market data streamer: live and replayed candles and ticks."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.skeleton import SkeletonModule
from viper.modules.streamer.routes import routes


class StreamerModule(SkeletonModule):
    """Market data streamer: live and replayed candles and ticks."""

    name = "streamer"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
