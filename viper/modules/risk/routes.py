"""Routes of the risk module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/risk", ("GET",), "risk status"),
    planned("/limits", ("GET", "PUT"), "read or change risk limits"),
]
