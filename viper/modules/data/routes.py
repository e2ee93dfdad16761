"""Routes of the data module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/data", ("GET",), "list datasets"),
    planned("/sync", ("POST",), "download or update candles"),
]
