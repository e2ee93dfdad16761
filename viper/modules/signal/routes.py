"""Routes of the signal module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/signals", ("GET",), "recent signals"),
    planned("/scores", ("GET",), "latest VIPER scores"),
]
