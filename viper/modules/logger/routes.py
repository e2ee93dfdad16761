"""Routes of the logger module: the tail, full-text search, and a live tail over SSE."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from viper import sse
from viper.http import ApiRoute, encode, json_response, module_of, query_as
from viper.modules.logger.entries import (
    LogEntry,
    LogFilter,
    LogPage,
    LogQuery,
    SearchQuery,
    build_filter,
)
from viper.modules.logger.tail import LogFeed


@runtime_checkable
class LoggerView(Protocol):
    """What these handlers need of the logger module."""

    heartbeat_seconds: float

    async def logs(self, query: LogQuery, q: str | None = None) -> LogPage: ...

    def open_stream(self, log_filter: LogFilter, backlog: int = 0) -> LogFeed: ...


class StreamQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Filters of the live tail; `backlog` replays that many recent matches first."""

    level: str | None = None
    module: str | None = None
    request_id: str | None = None
    q: str | None = None
    backlog: Annotated[int, Meta(ge=0, le=1000)] = 0


def frame(entry: LogEntry) -> bytes:
    """One SSE message per record: `event: log`, its id, the record as JSON."""
    return sse.message(encode(entry), event="log", id=str(entry.id))


async def get_logs(request: Request) -> Response:
    """Recent records, newest first; filters level (minimum), module, since, until, request_id."""
    query = query_as(request, LogQuery)
    return json_response(await module_of(request, LoggerView).logs(query))


async def search_logs(request: Request) -> Response:
    """Records containing every word of `q` (any case), newest first, with the same filters."""
    query = query_as(request, SearchQuery)
    return json_response(await module_of(request, LoggerView).logs(query, query.q))


async def stream_logs(request: Request) -> Response:
    """New records as server-sent events (`event: log`), filtered like /logs."""
    view = module_of(request, LoggerView)
    query = query_as(request, StreamQuery)
    base = LogQuery(level=query.level, module=query.module, request_id=query.request_id)
    log_filter = build_filter(base, query.q)
    body = sse.sse_stream(
        lambda: view.open_stream(log_filter, query.backlog),
        frame,
        view.heartbeat_seconds,
        sse.closing_of(request),
    )
    return StreamingResponse(body, media_type="text/event-stream", headers=sse.HEADERS)


routes: list[BaseRoute] = [
    ApiRoute("/logs", get_logs, query=LogQuery, response=LogPage),
    ApiRoute("/search", search_logs, query=SearchQuery, response=LogPage),
    ApiRoute("/stream", stream_logs, query=StreamQuery),
]
