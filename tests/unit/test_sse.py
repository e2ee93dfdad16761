"""Server-sent events: message framing, heartbeats, and a feed closed however the stream ends."""

from __future__ import annotations

import asyncio

from viper.sse import HEARTBEAT, message, sse_stream


class ListFeed:
    def __init__(self, items: list[str | None]) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        for item in items:
            self.queue.put_nowait(item)
        self.closed = False
        self.close_calls = 0

    async def get(self) -> str | None:
        item = await self.queue.get()
        if item is None:
            self.closed = True
        return item

    def close(self) -> None:
        self.closed = True
        self.close_calls += 1


def test_message_has_id_event_and_one_data_line_per_line() -> None:
    assert message(b'{"a":1}', event="log", id="7") == b'id: 7\nevent: log\ndata: {"a":1}\n\n'
    assert message(b"one\r\ntwo") == b"data: one\ndata: two\n\n"
    assert message(b"x", event="bad\nname") == b"event: bad name\ndata: x\n\n"


async def test_stream_frames_items_and_closes_the_feed() -> None:
    feed = ListFeed(["a", "b", None])
    chunks = [c async for c in sse_stream(lambda: feed, lambda s: message(s.encode()), 5.0)]
    assert chunks[0].startswith(b"retry: ")
    assert chunks[1:] == [b"data: a\n\n", b"data: b\n\n"]
    assert feed.close_calls == 1


async def test_idle_stream_sends_heartbeats_and_closes_when_cancelled() -> None:
    feed = ListFeed([])
    stream = sse_stream(lambda: feed, lambda s: s.encode(), heartbeat=0.01)
    assert (await anext(stream)).startswith(b"retry:")
    assert await anext(stream) == HEARTBEAT
    await stream.aclose()
    assert feed.close_calls == 1
