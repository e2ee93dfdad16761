"""Routes of the sync module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/sync", ("POST",), "run a reconciliation"),
    planned("/positions", ("GET",), "the last reconciliation diff"),
]
