"""Routes of the order module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/orders", ("GET",), "journaled orders"),
    planned("/lifecycle/{order_id}", ("GET",), "full history of one order"),
]
