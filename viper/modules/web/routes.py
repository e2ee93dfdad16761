"""Routes of the web module: the page and its static files (from the installed package), the
dashboard's live feed over SSE, and the recent candles behind its chart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from viper import sse
from viper.http import ApiRoute, json_response, module_of, query_as
from viper.modules.web.feed import DashboardFeed
from viper.modules.web.history import CandleSeries

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
VENDOR_FILE = "vendor/lightweight-charts.js"  # copied from npm by `make`, never committed
# Everything the page loads comes from this app: no CDN, no inline script. Inline styles are
# allowed because lightweight-charts sets style attributes on the elements it draws in.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class RevalidatedFiles(StaticFiles):
    """Static files the browser asks about again each time (a cheap 304 while unchanged), so
    a page never runs modules left in its cache by an older version."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


@runtime_checkable
class WebView(Protocol):
    """What these handlers need of the web module."""

    heartbeat_seconds: float

    def check_capacity(self) -> None: ...

    def open_feed(self) -> DashboardFeed: ...

    def candles(self, symbol: str, timeframe: str | None, limit: int) -> CandleSeries: ...


class CandlesQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One symbol's recent bars; the first timeframe held when `timeframe` is absent."""

    symbol: str
    timeframe: str | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 300


async def index(request: Request) -> Response:
    """The dashboard page."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)


async def events(request: Request) -> Response:
    """Live dashboard events as SSE: candle, ticker, score, signal, order, fill, position, ...

    Each frame's `id` numbers it for this client; a jump means events were missed.
    """
    web = module_of(request, WebView)
    web.check_capacity()  # a JSON 503 now, rather than a stream that fails once started
    body = sse.sse_stream(web.open_feed, _as_is, web.heartbeat_seconds, sse.closing_of(request))
    return StreamingResponse(body, media_type="text/event-stream", headers=sse.HEADERS)


def _as_is(frames: bytes) -> bytes:
    return frames


async def candles(request: Request) -> Response:
    """Recent closed bars of one symbol (as seen on the bus since start), oldest first."""
    query = query_as(request, CandlesQuery)
    web = module_of(request, WebView)
    return json_response(web.candles(query.symbol, query.timeframe, query.limit))


routes: list[BaseRoute] = [
    Route("/", index, methods=["GET"]),
    ApiRoute("/web/events", events, summary="Live dashboard events (SSE)"),
    ApiRoute("/web/candles", candles, query=CandlesQuery, response=CandleSeries),
    Mount("/static", app=RevalidatedFiles(directory=STATIC, check_dir=False), name="static"),
]
