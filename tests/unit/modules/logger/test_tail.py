"""Live tail: filtered feeds, fed from any thread, dropping a slow client's oldest records."""

from __future__ import annotations

import asyncio
import threading

from viper.modules.logger.entries import LogEntry, LogFilter
from viper.modules.logger.tail import LiveTail


def entry(i: int, module: str = "risk") -> LogEntry:
    return LogEntry(id=i, ts="", ts_ms=i, level="INFO", module=module, message=f"m{i}")


async def test_feeds_get_what_passes_their_filter() -> None:
    tail = LiveTail(asyncio.get_running_loop(), maxsize=10)
    risk = tail.open(LogFilter(modules=frozenset({"risk"})))
    everything = tail.open(LogFilter())
    tail.publish(20, entry(1, "order"))
    tail.publish(20, entry(2, "risk"))
    assert (await risk.get()).id == 2  # type: ignore[union-attr]
    assert [(await everything.get()).id for _ in range(2)] == [1, 2]  # type: ignore[union-attr]


async def test_records_from_other_threads_reach_the_loop() -> None:
    tail = LiveTail(asyncio.get_running_loop(), maxsize=10)
    feed = tail.open(LogFilter())
    thread = threading.Thread(target=tail.publish, args=(20, entry(7)))
    thread.start()
    thread.join()
    got = await asyncio.wait_for(feed.get(), 2)
    assert got is not None and got.id == 7


async def test_a_slow_client_loses_its_oldest_and_closing_unsubscribes() -> None:
    tail = LiveTail(asyncio.get_running_loop(), maxsize=3)
    feed = tail.open(LogFilter(), backlog=[entry(0)])
    for i in range(1, 6):
        tail.publish(20, entry(i))
    assert feed.dropped == 3
    assert [(await feed.get()).id for _ in range(3)] == [3, 4, 5]  # type: ignore[union-attr]
    feed.close()
    feed.close()
    assert len(tail) == 0 and not tail.active
    assert await feed.get() is None
