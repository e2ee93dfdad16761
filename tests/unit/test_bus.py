"""In-memory bus: typed delivery, isolation between subscribers, overflow policies, drain."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.stubs import candle_closed, ticker
from viper.bus import BusCollector, InMemoryBus
from viper.errors import ConflictError
from viper.events import BaseEvent, CandleClosed, Ticker, TradeRejected


async def test_delivers_by_event_class_in_publish_order() -> None:
    bus = InMemoryBus()
    tickers: list[float] = []
    candles: list[float] = []
    done = asyncio.Event()

    async def on_ticker(event: Ticker) -> None:
        tickers.append(event.last)
        if len(tickers) == 100:
            done.set()

    async def on_candle(event: CandleClosed) -> None:
        candles.append(event.candle.close)

    bus.subscribe(Ticker, on_ticker, name="tickers")
    bus.subscribe(CandleClosed, on_candle, name="candles")
    await bus.start()
    for i in range(100):
        await bus.publish(ticker(last=float(i)))
    await bus.publish(candle_closed(close=5.0))
    await asyncio.wait_for(done.wait(), 2)
    await bus.stop()
    assert tickers == [float(i) for i in range(100)]
    assert candles == [5.0]


async def test_subscribing_to_the_base_class_receives_every_event() -> None:
    bus = InMemoryBus()
    seen: list[str] = []

    async def everything(event: BaseEvent) -> None:
        seen.append(type(event).__name__)

    bus.subscribe(BaseEvent, everything, name="all")
    await bus.start()
    await bus.publish(ticker())
    await bus.publish(candle_closed())
    await bus.stop()
    assert seen == ["Ticker", "CandleClosed"]


async def test_a_subscription_to_several_classes_gets_only_those_in_publish_order() -> None:
    bus = InMemoryBus()
    seen: list[str] = []

    async def market(event: BaseEvent) -> None:
        seen.append(type(event).__name__)

    sub = bus.subscribe((Ticker, CandleClosed), market, name="market")
    await bus.start()
    await bus.publish(ticker())
    await bus.publish(TradeRejected(ts_ms=1, intent_id="i", symbol="BTC/USDT:USDT", reason="r"))
    await bus.publish(candle_closed())
    await bus.publish(ticker())
    await bus.stop()
    assert seen == ["Ticker", "CandleClosed", "Ticker"]
    assert sub.delivered == 3
    assert bus.stats()["subscriptions"] == [  # type: ignore[comparison-overlap]
        {
            "name": "market",
            "event": "Ticker | CandleClosed",
            "depth": 0,
            "delivered": 3,
            "failed": 0,
            "dropped": 0,
            "overflow": "block",
        }
    ]


async def test_failing_handler_is_counted_and_never_reaches_publisher_or_peers() -> None:
    bus = InMemoryBus()
    good: list[float] = []

    async def broken(event: Ticker) -> None:
        raise RuntimeError("boom")

    async def healthy(event: Ticker) -> None:
        good.append(event.last)

    bad_sub = bus.subscribe(Ticker, broken, name="broken")
    bus.subscribe(Ticker, healthy, name="healthy")
    await bus.start()
    for i in range(10):
        await bus.publish(ticker(last=float(i)))
    await bus.stop()
    assert bad_sub.failed == 10
    assert bad_sub.delivered == 0
    assert good == [float(i) for i in range(10)]


async def test_slow_handler_does_not_stall_other_subscribers() -> None:
    bus = InMemoryBus()
    release = asyncio.Event()
    fast: list[float] = []
    fast_done = asyncio.Event()

    async def slow(event: Ticker) -> None:
        await release.wait()

    async def quick(event: Ticker) -> None:
        fast.append(event.last)
        if len(fast) == 50:
            fast_done.set()

    bus.subscribe(Ticker, slow, name="slow", maxsize=100)
    bus.subscribe(Ticker, quick, name="quick")
    await bus.start()
    for i in range(50):
        await bus.publish(ticker(last=float(i)))
    await asyncio.wait_for(fast_done.wait(), 2)
    assert len(fast) == 50
    release.set()
    await bus.stop()


async def test_blocking_subscription_makes_the_publisher_wait_when_full() -> None:
    bus = InMemoryBus()
    release = asyncio.Event()

    async def slow(event: Ticker) -> None:
        await release.wait()

    sub = bus.subscribe(Ticker, slow, name="slow", maxsize=2, overflow="block")
    await bus.start()
    for _ in range(3):  # one in the handler, two queued
        await bus.publish(ticker())
        await asyncio.sleep(0)
    blocked = asyncio.create_task(bus.publish(ticker(last=99.0)))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    release.set()
    await asyncio.wait_for(blocked, 2)
    await bus.stop()
    assert sub.dropped == 0
    assert sub.delivered == 4


async def test_drop_oldest_keeps_the_newest_and_counts_drops() -> None:
    bus = InMemoryBus()
    release = asyncio.Event()
    seen: list[float] = []

    async def slow(event: Ticker) -> None:
        await release.wait()
        seen.append(event.last)

    sub = bus.subscribe(Ticker, slow, name="market", maxsize=3, overflow="drop_oldest")
    await bus.start()
    await bus.publish(ticker(last=0.0))
    await asyncio.sleep(0)  # the handler takes event 0 and waits
    for i in range(1, 11):
        await bus.publish(ticker(last=float(i)))
    release.set()
    await bus.stop()
    assert sub.dropped == 7
    assert seen == [0.0, 8.0, 9.0, 10.0]


async def test_stop_drains_queued_events_before_returning() -> None:
    bus = InMemoryBus()
    seen: list[float] = []

    async def handler(event: Ticker) -> None:
        await asyncio.sleep(0)
        seen.append(event.last)

    bus.subscribe(Ticker, handler, name="h")
    await bus.start()
    for i in range(500):
        bus.publish_nowait(ticker(last=float(i)))
    await bus.stop()
    assert len(seen) == 500


async def test_stop_gives_up_after_the_drain_timeout() -> None:
    bus = InMemoryBus(drain_timeout=0.05)
    forever = asyncio.Event()

    async def stuck(event: Ticker) -> None:
        await forever.wait()

    bus.subscribe(Ticker, stuck, name="stuck")
    await bus.start()
    await bus.publish(ticker())
    await asyncio.wait_for(bus.stop(), 1)


async def test_publish_after_stop_is_ignored_and_subscribe_refused() -> None:
    bus = InMemoryBus()
    await bus.start()
    await bus.stop()
    await bus.publish(ticker())
    assert bus.published == 0

    async def handler(event: Ticker) -> None: ...

    with pytest.raises(ConflictError):
        bus.subscribe(Ticker, handler, name="late")


async def test_subscription_added_while_running_gets_events() -> None:
    bus = InMemoryBus()
    await bus.start()
    got = asyncio.Event()

    async def handler(event: Ticker) -> None:
        got.set()

    bus.subscribe(Ticker, handler, name="late")
    await bus.publish(ticker())
    await asyncio.wait_for(got.wait(), 1)
    await bus.stop()


async def test_unsubscribe_stops_delivery() -> None:
    bus = InMemoryBus()
    seen: list[float] = []

    async def handler(event: Ticker) -> None:
        seen.append(event.last)

    sub = bus.subscribe(Ticker, handler, name="h")
    await bus.start()
    await bus.publish(ticker(last=1.0))
    await asyncio.sleep(0.01)
    bus.unsubscribe(sub)
    await bus.publish(ticker(last=2.0))
    await bus.stop()
    assert seen == [1.0]


async def test_publish_nowait_drops_and_counts_on_a_full_blocking_queue() -> None:
    bus = InMemoryBus()

    async def handler(event: Ticker) -> None: ...

    sub = bus.subscribe(Ticker, handler, name="h", maxsize=2)
    for _ in range(5):  # not started: nothing drains
        bus.publish_nowait(ticker())
    assert sub.depth == 2
    assert sub.dropped == 3


async def test_collector_exposes_depth_delivered_failures_and_drops() -> None:
    bus = InMemoryBus()

    async def handler(event: Ticker) -> None:
        raise ValueError("x")

    bus.subscribe(Ticker, handler, name="risk.tickers")
    registry = CollectorRegistry()
    registry.register(BusCollector(bus))
    await bus.start()
    await bus.publish(ticker())
    await bus.stop()
    text = generate_latest(registry).decode()
    assert 'viper_bus_handler_failures_total{subscriber="risk.tickers"} 1.0' in text
    assert "viper_bus_published_total 1.0" in text
    assert 'viper_bus_queue_depth{subscriber="risk.tickers"} 0.0' in text


def test_maxsize_must_be_positive() -> None:
    bus = InMemoryBus()

    async def handler(event: Ticker) -> None: ...

    with pytest.raises(ValueError, match="maxsize"):
        bus.subscribe(Ticker, handler, name="h", maxsize=-1)


async def test_catch_up_handles_what_is_queued_in_order_in_the_callers_task() -> None:
    bus = InMemoryBus()
    seen: list[float] = []

    async def on_ticker(event: Ticker) -> None:
        seen.append(event.last)

    sub = bus.subscribe(Ticker, on_ticker, name="tickers")
    await bus.start()
    for i in range(5):
        bus.publish_nowait(ticker(last=float(i)))  # queued: the subscriber's task has not run
    assert sub.depth == 5
    assert await sub.catch_up() == 5
    assert seen == [0.0, 1.0, 2.0, 3.0, 4.0] and sub.depth == 0 and sub.delivered == 5
    assert await sub.catch_up() == 0
    await bus.publish(ticker(last=9.0))
    await bus.stop()
    assert seen[-1] == 9.0 and sub.delivered == 6
