"""Server-Sent Events for any module: message framing, and the loop that streams a feed.

Plain: it knows nothing of Starlette or the bus. The feed is opened inside the stream, so a
client that leaves before the first byte never subscribes, and one that leaves later (the
server cancels the stream, or it ends) closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Protocol, TypeVar

from starlette.requests import Request

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

HEARTBEAT = b": heartbeat\n\n"
RETRY_MS = 3000  # how long a browser's EventSource waits before reconnecting
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Feed(Protocol[T_co]):
    """One client's items."""

    @property
    def closed(self) -> bool:
        """No more items will come."""
        ...

    async def get(self) -> T_co | None:
        """The next item; None once closed."""
        ...

    def close(self) -> None:
        """Stop the feed and release what it holds; safe twice."""
        ...


def _field(value: str) -> bytes:
    # A newline inside `id` or `event` would end the field early: fold it away.
    return value.replace("\r", " ").replace("\n", " ").encode()


def message(data: bytes, *, event: str = "", id: str = "") -> bytes:
    """One SSE message; each line of `data` goes on its own `data:` line."""
    parts = []
    if id:
        parts.append(b"id: " + _field(id))
    if event:
        parts.append(b"event: " + _field(event))
    parts.extend(b"data: " + line for line in data.replace(b"\r\n", b"\n").split(b"\n"))
    return b"\n".join(parts) + b"\n\n"


async def sse_stream(
    open_feed: Callable[[], Feed[T]],
    frame: Callable[[T], bytes],
    heartbeat: float,
    closing: asyncio.Event | None = None,
) -> AsyncIterator[bytes]:
    """`retry`, then `frame(item)` per item; a heartbeat after `heartbeat` idle seconds.

    When `closing` is set (the process is stopping) the feed is closed and the stream ends, so
    shutdown does not wait for the clients to hang up.
    """
    feed = open_feed()
    watcher = None
    if closing is not None:
        watcher = asyncio.ensure_future(closing.wait())
        watcher.add_done_callback(lambda _: feed.close())
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        while not feed.closed:
            try:
                async with asyncio.timeout(heartbeat):
                    item = await feed.get()
            except TimeoutError:
                yield HEARTBEAT
                continue
            if item is not None:
                yield frame(item)
    finally:
        if watcher is not None:
            watcher.cancel()
        feed.close()


def closing_of(request: Request) -> asyncio.Event | None:
    """The app's "stopping" event, when the app has one (`ViperApp` sets it on a signal)."""
    closing = getattr(request.app.state, "closing", None)
    return closing if isinstance(closing, asyncio.Event) else None
