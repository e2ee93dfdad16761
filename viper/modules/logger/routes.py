"""Routes of the logger module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/logs", ("GET",), "recent log records"),
    planned("/search", ("GET",), "full-text log search"),
]
