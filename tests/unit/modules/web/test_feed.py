"""The dashboard feed: numbered frames per client, only what the page shows, drop-oldest with a
visible gap, encoded once for every client, and a close that lets go of the bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest

from tests.stubs import candle_closed, order_request, ticker
from viper.bus import InMemoryBus
from viper.events import Event
from viper.modules.web.feed import DashboardFeed, FrameCache


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus()
    await bus.start()
    yield bus
    await bus.stop()


def frames_of(data: bytes) -> list[tuple[str, str, bytes]]:
    """(id, event, data) of each SSE message in `data`."""
    found = []
    for block in data.strip(b"\n").split(b"\n\n"):
        fields = dict(line.split(b": ", 1) for line in block.split(b"\n"))
        found.append((fields.get(b"id", b"").decode(), fields[b"event"].decode(), fields[b"data"]))
    return found


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_are_numbered_per_client_and_carry_the_event_as_json(
    bus: InMemoryBus,
) -> None:
    feed = DashboardFeed(
        bus, FrameCache(), name="t", backlog=16, hello=b"event: hello\ndata: {}\n\n"
    )
    tick, bar = ticker(last=101.0), candle_closed(close=102.0)
    await bus.publish(tick)
    await bus.publish(bar)
    await settle()

    frames = frames_of(await asyncio.wait_for(feed.get(), 1))

    assert [(i, e) for i, e, _ in frames] == [("", "hello"), ("1", "ticker"), ("2", "candle")]
    assert msgspec.json.decode(frames[1][2], type=Event) == tick
    assert msgspec.json.decode(frames[2][2], type=Event) == bar
    assert feed.sent == 3
    feed.close()


async def test_events_the_page_does_not_show_are_left_out_without_a_number(
    bus: InMemoryBus,
) -> None:
    feed = DashboardFeed(bus, FrameCache(), name="t", backlog=16)
    await bus.publish(order_request())
    await bus.publish(ticker())
    await settle()

    frames = frames_of(await asyncio.wait_for(feed.get(), 1))

    assert [(i, e) for i, e, _ in frames] == [("1", "ticker")]
    feed.close()


async def test_a_client_behind_by_more_than_its_backlog_loses_the_oldest_and_ids_jump(
    bus: InMemoryBus,
) -> None:
    feed = DashboardFeed(bus, FrameCache(), name="t", backlog=3)
    for price in range(1, 8):
        await bus.publish(ticker(last=float(price)))
    await settle()

    frames = frames_of(await asyncio.wait_for(feed.get(), 1))

    ids = [int(i) for i, _, _ in frames]
    assert len(ids) == 3 and ids[-1] == 7  # the newest kept, every loss took a number
    assert feed.lost == 4
    assert [msgspec.json.decode(d)["last"] for _, _, d in frames] == [5.0, 6.0, 7.0]
    feed.close()


async def test_each_event_is_encoded_once_for_every_client(bus: InMemoryBus) -> None:
    cache = FrameCache(capacity=8)
    event = ticker()

    assert cache.body(event) is cache.body(event)
    assert cache.body(order_request()) is None
    for price in range(20):
        cache.body(ticker(last=float(price)))
    assert len(cache._bodies) == 8


async def test_close_unsubscribes_wakes_the_reader_and_is_safe_twice(bus: InMemoryBus) -> None:
    closed: list[DashboardFeed] = []
    feed = DashboardFeed(bus, FrameCache(), name="t", backlog=4, on_close=closed.append)
    reader = asyncio.create_task(feed.get())
    await settle()

    feed.close()
    feed.close()

    assert await asyncio.wait_for(reader, 1) is None
    assert closed == [feed]
    assert not [s for s in bus.subscriptions if s.name == "t"]
    await bus.publish(ticker())
    assert await feed.get() is None
