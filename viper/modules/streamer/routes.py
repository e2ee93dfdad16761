"""Routes of the streamer module: the latest view per symbol, and an SSE stream of market data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from viper import sse
from viper.http import ApiRoute, json_response, module_of, query_as
from viper.modules.streamer.sse import EventFeed, frame
from viper.modules.streamer.state import Realtime


@runtime_checkable
class StreamerView(Protocol):
    """What these handlers need of the streamer module."""

    heartbeat_seconds: float

    def realtime(self, symbols: str | None = None) -> Realtime: ...

    def pick_symbols(self, symbols: str | None) -> list[str]: ...

    def open_stream(self, symbols: Sequence[str]) -> EventFeed: ...


class RealtimeQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filter of /realtime."""

    symbol: str | None = None


class StreamQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filter of /stream: comma-separated symbols, all when absent."""

    symbols: str | None = None


async def realtime(request: Request) -> Response:
    """Latest tick and last closed candle per symbol (`?symbol=` for one; 404 if unknown)."""
    query = query_as(request, RealtimeQuery)
    return json_response(module_of(request, StreamerView).realtime(query.symbol))


async def stream(request: Request) -> Response:
    """Server-sent events of market data: `event: candle` and `event: ticker`, JSON data."""
    view = module_of(request, StreamerView)
    symbols = view.pick_symbols(query_as(request, StreamQuery).symbols)
    body = sse.sse_stream(
        lambda: view.open_stream(symbols), frame, view.heartbeat_seconds, sse.closing_of(request)
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


# The query Structs are not declared as `query=` yet: viper/openapi.py cannot describe their
# fields (it hands msgspec.inspect types to msgspec.json.schema), which breaks /openapi.json.
routes: list[BaseRoute] = [
    ApiRoute("/realtime", realtime, response=Realtime),
    ApiRoute("/stream", stream),
]
