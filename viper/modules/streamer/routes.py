"""Routes of the streamer module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/stream", ("GET",), "server-sent event stream of market data"),
    planned("/realtime", ("GET",), "latest tick per symbol"),
]
