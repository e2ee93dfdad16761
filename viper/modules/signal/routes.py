"""Routes of the signal module: latest scores (or one series' history) and recent signals."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.http import ApiRoute, json_response, module_of, query_as
from viper.modules.signal.processor import HISTORY, SignalFilter
from viper.modules.signal.views import ScoresPage, SignalsPage


@runtime_checkable
class SignalView(Protocol):
    """What these handlers need of the signal module."""

    def latest_scores(self, symbol: str | None, timeframe: str | None) -> ScoresPage: ...

    def score_history(self, symbol: str | None, timeframe: str | None, n: int) -> ScoresPage: ...

    def recent_signals(self, query: SignalFilter) -> SignalsPage: ...


class ScoresQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Filters of /scores; `history=N` returns the last N scores of one symbol."""

    symbol: str | None = None
    timeframe: str | None = None
    history: Annotated[int, Meta(ge=1, le=HISTORY)] | None = None


async def scores(request: Request) -> Response:
    """Latest VIPER score per symbol and timeframe, or `?history=N` of one symbol (oldest first)."""
    query = query_as(request, ScoresQuery)
    view = module_of(request, SignalView)
    if query.history is not None:
        return json_response(view.score_history(query.symbol, query.timeframe, query.history))
    return json_response(view.latest_scores(query.symbol, query.timeframe))


async def signals(request: Request) -> Response:
    """Recent signals, newest first; filter by symbol, timeframe, direction, min_score, since_ms."""
    query = query_as(request, SignalFilter)
    return json_response(module_of(request, SignalView).recent_signals(query))


routes: list[BaseRoute] = [
    ApiRoute("/scores", scores, query=ScoresQuery, response=ScoresPage),
    ApiRoute("/signals", signals, query=SignalFilter, response=SignalsPage),
]
