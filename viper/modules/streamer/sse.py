"""Server-Sent Events framing and the loop that turns a feed of events into a byte stream.

Plain: it knows nothing of Starlette or the bus; the feed is opened inside the stream, so a
client that leaves before the first byte never subscribes, and one that leaves later closes it.
"""

from __future__ import annotations

from typing import Protocol

from viper.events import BaseEvent, CandleClosed, Ticker
from viper.http import encode

HEARTBEAT = b": heartbeat\n\n"
RETRY_MS = 3000  # how long a browser's EventSource waits before reconnecting
EVENT_NAMES: dict[type[BaseEvent], str] = {CandleClosed: "candle", Ticker: "ticker"}


class EventFeed(Protocol):
    """One client's events."""

    @property
    def closed(self) -> bool:
        """No more events will come."""
        ...

    async def get(self) -> BaseEvent | None:
        """The next event; None once closed."""
        ...

    def close(self) -> None:
        """Stop the feed and release what it holds; safe twice."""
        ...


def frame(event: BaseEvent) -> bytes:
    """One SSE message: `id`, `event` (candle, ticker, ...) and the event as JSON data."""
    name = EVENT_NAMES.get(type(event), type(event).__name__)
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event.id.encode(), name.encode(), encode(event))
