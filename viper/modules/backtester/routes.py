"""Routes of the backtester module; planned routes answer 501 until built."""

from __future__ import annotations

from starlette.routing import BaseRoute

from viper.modules.skeleton import planned

routes: list[BaseRoute] = [
    planned("/backtest", ("POST",), "start a backtest"),
    planned("/results", ("GET",), "list backtest results"),
]
