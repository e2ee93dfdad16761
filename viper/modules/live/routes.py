"""Routes of the live module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/trade", ("GET", "POST"), "start, pause, stop and status of trading"),
    planned("/positions", ("GET",), "positions the engine manages"),
]
