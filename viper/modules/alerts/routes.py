"""Routes of the alerts module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/alerts", ("GET",), "alert history"),
    planned("/notifications", ("GET", "POST"), "alert channels and test sends"),
]
