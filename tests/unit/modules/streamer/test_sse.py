"""SSE framing, heartbeats, and a feed closed however the stream ends."""

from __future__ import annotations

import asyncio

import msgspec

from tests.stubs import candle_closed, ticker
from viper.events import BaseEvent, Event
from viper.modules.streamer.sse import frame
from viper.sse import HEARTBEAT, sse_stream


class ListFeed:
    """A feed of queued events that records being closed."""

    def __init__(self, events: list[BaseEvent | None]) -> None:
        self.queue: asyncio.Queue[BaseEvent | None] = asyncio.Queue()
        for event in events:
            self.queue.put_nowait(event)
        self.closed = False
        self.close_calls = 0

    async def get(self) -> BaseEvent | None:
        event = await self.queue.get()
        if event is None:
            self.closed = True
        return event

    def close(self) -> None:
        self.closed = True
        self.close_calls += 1


def test_frame_names_the_event_and_carries_it_as_json() -> None:
    event = candle_closed(close=101.5)
    text = frame(event).decode()
    lines = text.split("\n")
    assert lines[0] == f"id: {event.id}"
    assert lines[1] == "event: candle"
    assert lines[2].startswith("data: ") and text.endswith("\n\n")
    decoded = msgspec.json.decode(lines[2].removeprefix("data: "), type=Event)
    assert decoded == event
    assert b"event: ticker\n" in frame(ticker())


async def test_stream_sends_retry_then_events_and_closes_the_feed_at_the_end() -> None:
    feed = ListFeed([ticker(last=1.0), candle_closed(), None])
    chunks = [chunk async for chunk in sse_stream(lambda: feed, frame, heartbeat=5.0)]
    assert chunks[0].startswith(b"retry: ")
    assert [c.split(b"\n")[1] for c in chunks[1:]] == [b"event: ticker", b"event: candle"]
    assert feed.close_calls == 1


async def test_idle_stream_sends_heartbeat_comments() -> None:
    feed = ListFeed([])
    stream = sse_stream(lambda: feed, frame, heartbeat=0.01)
    assert (await anext(stream)).startswith(b"retry:")
    assert await anext(stream) == HEARTBEAT
    assert await anext(stream) == HEARTBEAT
    await stream.aclose()  # what a disconnecting client causes
    assert feed.close_calls == 1


async def test_a_stream_never_started_never_opens_its_feed() -> None:
    opened: list[ListFeed] = []

    def open_feed() -> ListFeed:
        opened.append(ListFeed([]))
        return opened[-1]

    stream = sse_stream(open_feed, frame, heartbeat=1.0)
    await stream.aclose()
    assert opened == []
