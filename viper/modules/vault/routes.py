"""Routes of the vault module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/credentials", ("GET", "POST"), "stored credentials (names and metadata only)"),
    planned("/tokens", ("GET", "POST"), "API tokens"),
]
