"""Routes of the optimizer module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/optimize", ("POST",), "start an optimization"),
    planned("/parameters", ("GET",), "search spaces and best parameters"),
]
