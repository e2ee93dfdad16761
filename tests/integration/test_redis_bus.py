"""Tests for viper.redis_bus: two buses in one test stand for two processes sharing a stream."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from redis.asyncio import Redis

from viper.domain import Candle, Position
from viper.errors import ConfigError
from viper.events import (
    AlertRaised,
    BaseEvent,
    CandleClosed,
    OrderRequest,
    PositionChanged,
    Ticker,
)
from viper.redis_bus import RedisBus, RedisBusCollector

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]

MakeBus = Callable[..., RedisBus]


# --- helpers ---------------------------------------------------------------------------------


class Inbox:
    """A handler that records events and can be awaited until it holds `n` of them."""

    def __init__(self) -> None:
        self.events: list[BaseEvent] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: BaseEvent) -> None:
        self.events.append(event)
        self._changed.set()

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events]

    async def wait_for(self, n: int, seconds: float = 10.0) -> list[BaseEvent]:
        async with asyncio.timeout(seconds):
            while len(self.events) < n:
                self._changed.clear()
                await self._changed.wait()
        return self.events


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until `check()` holds; fail with TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        # polls counters that no event signals
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def ticker(i: int) -> Ticker:
    return Ticker(
        ts_ms=1_700_000_000_000 + i, exchange="bitget", symbol="BTC/USDT:USDT", last=65_000.0 + i
    )


def alert(text: str) -> AlertRaised:
    return AlertRaised(ts_ms=1_700_000_000_000, rule="test", severity="info", message=text)


def mixed(i: int) -> BaseEvent:
    """Events of several shapes: plain, nested Struct, Decimal, nested Decimal."""
    ts = 1_700_000_000_000 + i
    match i % 4:
        case 0:
            return ticker(i)
        case 1:
            candle = Candle(ts_ms=ts, open=1.5, high=2.25, low=1.0, close=2.0, volume=i * 0.1)
            return CandleClosed(
                ts_ms=ts, exchange="bitget", symbol="ETH/USDT:USDT", timeframe="1m", candle=candle
            )
        case 2:
            return OrderRequest(
                ts_ms=ts,
                client_order_id=f"c{i}",
                symbol="BTC/USDT:USDT",
                side="buy",
                order_type="limit",
                amount=Decimal("0.00100") * i,
                price=Decimal("65000.10"),
                reduce_only=True,
            )
        case _:
            position = Position(
                symbol="SOL/USDT:USDT",
                direction="short",
                size=Decimal(f"{i}.500"),
                entry_price=Decimal("142.3700"),
                liquidation_price=None,
                unrealized_pnl=Decimal("-1.05E+1"),
            )
            return PositionChanged(ts_ms=ts, position=position)


async def groups(redis: Redis, stream: str) -> set[str]:
    return {g["name"].decode() for g in await redis.xinfo_groups(stream)}


async def no_pending_entries(redis: Redis, stream: str, group: str) -> None:
    """Wait until `group` has acknowledged everything it was handed."""
    async with asyncio.timeout(5.0):
        # the XACK follows delivery and nothing signals it but Redis itself
        while (await redis.xpending(stream, group))["pending"]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.fixture
async def make_bus(redis_url: str, redis_stream: str) -> AsyncIterator[MakeBus]:
    """Builds buses on the test's stream; stops them all (before the stream is deleted)."""
    buses: list[RedisBus] = []

    def make(**options: Any) -> RedisBus:
        options = {"stream": redis_stream, "drain_timeout": 2.0, **options}
        bus = RedisBus(options.pop("url", redis_url), **options)
        buses.append(bus)
        return bus

    yield make
    for bus in reversed(buses):
        await bus.stop()


# --- fan-out between processes ---------------------------------------------------------------


async def test_event_reaches_remote_subscriber_once_and_local_subscriber_once(
    make_bus: MakeBus,
) -> None:
    a, b = make_bus(node_id="A"), make_bus(node_id="B")
    on_a, on_b = Inbox(), Inbox()
    a.subscribe(AlertRaised, on_a, name="a")
    b.subscribe(AlertRaised, on_b, name="b")
    await a.start()
    await b.start()
    first, second = alert("one"), alert("two")

    await a.publish(first)
    await a.publish(second)
    await on_b.wait_for(2)
    # B's reply is behind A's two entries in the stream, so once A has read it, A's reader has
    # passed its own entries: a second local delivery would already be in on_a.
    reply = alert("reply")
    await b.publish(reply)
    await on_a.wait_for(3)

    assert on_b.ids == [first.id, second.id, reply.id]
    assert on_a.ids == [first.id, second.id, reply.id]
    counters = a.stats()["redis"]
    assert isinstance(counters, dict)
    assert (counters["sent"], counters["received"], counters["decode_errors"]) == (2, 1, 0)


async def test_many_events_of_several_types_arrive_complete_in_order_and_intact(
    make_bus: MakeBus,
) -> None:
    a, b = make_bus(node_id="A"), make_bus(node_id="B")
    inbox = Inbox()
    b.subscribe(BaseEvent, inbox, name="all", maxsize=10_000)
    await a.start()
    await b.start()
    sent = [mixed(i) for i in range(5_000)]

    for i, event in enumerate(sent):
        if i % 2:
            a.publish_nowait(event)
        else:
            await a.publish(event)
    received = await inbox.wait_for(len(sent), seconds=20.0)

    assert [type(e) for e in received] == [type(e) for e in sent]
    assert received == sent
    # equal Decimals can differ in exponent ("0.0010" == "0.001"); the exact text must survive
    assert msgspec.json.encode(received) == msgspec.json.encode(sent)
    order = received[2]
    assert isinstance(order, OrderRequest)
    assert isinstance(order.amount, Decimal)
    assert str(order.amount) == "0.00200"
    assert b.received == len(sent)
    await eventually(lambda: a.sent == len(sent))  # counted when Redis answers


# --- named groups ----------------------------------------------------------------------------


async def test_consumers_of_a_named_group_split_events_without_loss_or_repeat(
    make_bus: MakeBus,
) -> None:
    group = f"workers-{uuid.uuid4().hex[:8]}"
    one = make_bus(group=group, node_id="w1")
    two = make_bus(group=group, node_id="w2")
    publisher = make_bus(node_id="P")
    on_one, on_two = Inbox(), Inbox()
    one.subscribe(Ticker, on_one, name="w1")
    two.subscribe(Ticker, on_two, name="w2")
    for bus in (one, two, publisher):
        await bus.start()
    sent: list[str] = []

    # in rounds, so the consumer that waited longest is served first and both get work
    for round_no in range(10):
        for i in range(200):
            event = ticker(round_no * 200 + i)
            sent.append(event.id)
            await publisher.publish(event)
        await eventually(lambda: len(on_one.events) + len(on_two.events) == len(sent))

    got = on_one.ids + on_two.ids
    assert len(got) == len(set(got)) == len(sent)
    assert set(got) == set(sent)
    assert on_one.events
    assert on_two.events


async def test_restarted_named_consumer_gets_events_published_while_it_was_down(
    make_bus: MakeBus, redis_stream: str, redis_client: Redis
) -> None:
    group = f"workers-{uuid.uuid4().hex[:8]}"
    publisher = make_bus(node_id="P")
    before = make_bus(group=group, node_id="worker")
    inbox = Inbox()
    before.subscribe(Ticker, inbox, name="before")
    await publisher.start()
    await before.start()
    await publisher.publish(ticker(1))
    await inbox.wait_for(1)
    await before.stop()
    missed = [ticker(2), ticker(3)]

    for event in missed:
        await publisher.publish(event)
    await eventually(lambda: publisher.sent == 3)
    after = make_bus(group=group, node_id="worker")
    restarted = Inbox()
    after.subscribe(Ticker, restarted, name="after")
    await after.start()
    await restarted.wait_for(2)
    # a fence behind the missed events: anything redelivered would arrive before it
    fence = ticker(4)
    await publisher.publish(fence)
    await restarted.wait_for(3)

    assert restarted.ids == [missed[0].id, missed[1].id, fence.id]
    assert group in await groups(redis_client, redis_stream)


async def test_restarted_named_consumer_rereads_its_unacknowledged_entries(
    make_bus: MakeBus, redis_stream: str, redis_client: Redis
) -> None:
    group = f"workers-{uuid.uuid4().hex[:8]}"
    publisher = make_bus(node_id="P")
    await publisher.start()
    await redis_client.xgroup_create(redis_stream, group, id="$")
    event = ticker(1)
    await publisher.publish(event)
    await eventually(lambda: publisher.sent == 1)
    # the consumer "crashes" after reading, before acknowledging
    await redis_client.xreadgroup(group, "worker", {redis_stream: ">"}, count=10)

    worker = make_bus(group=group, node_id="worker")
    inbox = Inbox()
    worker.subscribe(Ticker, inbox, name="worker")
    await worker.start()
    await inbox.wait_for(1)
    await eventually(lambda: worker.received == 1)

    assert inbox.ids == [event.id]
    await no_pending_entries(redis_client, redis_stream, group)


# --- bad entries and outages -----------------------------------------------------------------


async def test_undecodable_entries_are_counted_acknowledged_and_skipped(
    make_bus: MakeBus, redis_stream: str, redis_client: Redis
) -> None:
    a, b = make_bus(node_id="A"), make_bus(node_id="B")
    inbox = Inbox()
    b.subscribe(AlertRaised, inbox, name="b")
    await a.start()
    await b.start()

    await redis_client.xadd(redis_stream, {"o": "intruder", "e": b"\xc1 not msgpack"})
    await redis_client.xadd(redis_stream, {"o": "intruder", "e": msgspec.msgpack.encode({"x": 1})})
    await redis_client.xadd(redis_stream, {"o": "intruder"})
    good = alert("still alive")
    await a.publish(good)
    await inbox.wait_for(1)

    assert inbox.ids == [good.id]
    assert b.decode_errors == 3
    assert b.received == 1
    await no_pending_entries(redis_client, redis_stream, b.group)


class Outage:
    """A loopback TCP relay to Redis that can be cut and restored, to stage a Redis outage."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
async def outage() -> AsyncIterator[Outage]:
    relay = Outage()
    await relay.up()
    yield relay
    await relay.down()


async def test_a_batch_becomes_one_entry_per_event_and_events_redis_refuses_are_counted(
    make_bus: MakeBus, redis_client: Redis, redis_stream: str
) -> None:
    a = make_bus()
    await sent_and_received(a, make_bus(), 300)
    assert await redis_client.xlen(redis_stream) == 300  # still one entry per event

    await a.stop()  # the stream becomes a plain string: Redis refuses every XADD
    await redis_client.delete(redis_stream)
    await redis_client.set(redis_stream, "not a stream")
    c = make_bus(group="refusals")
    c._create_group = _no_group  # type: ignore[method-assign]
    await c.start()
    await c.publish(ticker(1))
    await c.publish(ticker(2))
    await eventually(lambda: c.send_errors == 2)
    assert c.sent == 0 and c.buffered == 0  # counted and dropped, not retried forever
    await redis_client.delete(redis_stream)


async def _no_group() -> None:
    return None


async def sent_and_received(sender: RedisBus, receiver: RedisBus, n: int) -> None:
    """Start both; `n` tickers published by `sender` all reach `receiver`, in order, and are
    counted as sent without errors."""
    inbox = Inbox()
    receiver.subscribe(Ticker, inbox, name="inbox")
    await sender.start()
    await receiver.start()
    for i in range(n):
        await sender.publish(ticker(i))
    assert [e.last for e in await inbox.wait_for(n)] == [65_000.0 + i for i in range(n)]
    await eventually(lambda: sender.sent == n)  # counted once its call returns
    assert sender.send_errors == 0


async def test_without_scripting_rights_events_are_appended_one_by_one(
    make_bus: MakeBus, redis_client: Redis
) -> None:
    user, password = f"viper-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    await redis_client.execute_command(
        "ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all", "-@scripting"
    )
    try:
        limited = make_bus(url=f"redis://{user}:{password}@127.0.0.1:6379/13")
        await sent_and_received(limited, make_bus(), 50)
        await limited.stop()
    finally:
        await redis_client.execute_command("ACL", "DELUSER", user)


async def test_events_published_while_redis_is_down_are_sent_when_it_is_back(
    make_bus: MakeBus, outage: Outage
) -> None:
    a = make_bus(node_id="A", url=f"redis://127.0.0.1:{outage.port}/13")
    b = make_bus(node_id="B")
    inbox = Inbox()
    b.subscribe(Ticker, inbox, name="b")
    await a.start()
    await b.start()
    await a.publish(ticker(0))
    await inbox.wait_for(1)
    await eventually(lambda: a.sent == 1)  # else the reply is lost, and ticker(0) is sent again

    await outage.down()
    during = [ticker(i) for i in range(1, 11)]
    for event in during:
        await a.publish(event)
    await eventually(lambda: a.send_errors > 0 and a.receive_errors > 0)
    assert a.buffered == len(during)
    await outage.up()
    await inbox.wait_for(11, seconds=15.0)

    assert inbox.ids[1:] == [e.id for e in during]
    assert a.buffered == 0
    assert a.dropped == 0


async def test_reader_recreates_its_group_when_the_stream_is_deleted(
    make_bus: MakeBus, redis_stream: str, redis_client: Redis
) -> None:
    a, b = make_bus(node_id="A"), make_bus(node_id="B")
    inbox = Inbox()
    b.subscribe(Ticker, inbox, name="b")
    await a.start()
    await b.start()

    await redis_client.delete(redis_stream)
    await eventually(lambda: b.receive_errors > 0)
    sent: list[str] = []
    async with asyncio.timeout(5.0):
        # what A sends before B's group is back is not B's to see: send until one arrives
        while not inbox.events:
            event = ticker(len(sent))
            sent.append(event.id)
            await a.publish(event)
            await asyncio.sleep(0.05)

    assert set(inbox.ids) <= set(sent)
    assert "B" in await groups(redis_client, redis_stream)


# --- lifecycle -------------------------------------------------------------------------------


async def test_stop_destroys_the_anonymous_group_and_is_safe_twice(
    make_bus: MakeBus, redis_stream: str, redis_client: Redis
) -> None:
    bus = make_bus(node_id="A")
    await bus.start()
    assert await groups(redis_client, redis_stream) == {"A"}

    await bus.stop()
    await bus.stop()

    assert await groups(redis_client, redis_stream) == set()


async def test_stop_keeps_a_named_group_but_forgets_a_consumer_that_owes_nothing(
    make_bus: MakeBus, redis_stream: str, redis_client: Redis
) -> None:
    publisher, worker = make_bus(node_id="P"), make_bus(group="workers", node_id="w1")
    inbox = Inbox()
    worker.subscribe(Ticker, inbox, name="w1")
    await worker.start()
    await publisher.start()
    await publisher.publish(ticker(1))
    await inbox.wait_for(1)
    consumers = await redis_client.xinfo_consumers(redis_stream, "workers")
    assert [c["name"] for c in consumers] == [b"w1"]

    await worker.stop()

    assert "workers" in await groups(redis_client, redis_stream)
    assert await redis_client.xinfo_consumers(redis_stream, "workers") == []


async def test_stop_flushes_events_published_just_before_it(
    make_bus: MakeBus, redis_stream: str, redis_client: Redis
) -> None:
    bus = make_bus(node_id="A")
    await bus.start()
    for i in range(2_500):
        bus.publish_nowait(ticker(i))

    await bus.stop()

    assert bus.sent == 2_500
    assert await redis_client.xlen(redis_stream) == 2_500


async def test_start_against_unreachable_redis_raises_config_error_without_password() -> None:
    bus = RedisBus("redis://:hunter2@127.0.0.1:1/0", stream=f"viper:test:{uuid.uuid4().hex}")

    with pytest.raises(ConfigError, match=r"redis\.url") as caught:
        await bus.start()

    assert caught.value.field == "redis.url"
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
    await bus.stop()
    await bus.stop()


def test_a_url_that_is_not_redis_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"redis\.url"):
        RedisBus("http://user:hunter2@127.0.0.1:6379/0")


# --- observability ---------------------------------------------------------------------------


def scrape(bus: RedisBus) -> Iterator[str]:
    registry = CollectorRegistry()
    registry.register(RedisBusCollector(bus))
    for line in generate_latest(registry).decode().splitlines():
        if not line.startswith("#"):
            yield line


async def test_collector_reports_redis_counters_at_scrape_time(make_bus: MakeBus) -> None:
    a, b = make_bus(node_id="A"), make_bus(node_id="B")
    inbox = Inbox()
    b.subscribe(Ticker, inbox, name="b")
    await a.start()
    await b.start()

    for i in range(3):
        await a.publish(ticker(i))
    await inbox.wait_for(3)
    await eventually(lambda: a.sent == 3)  # counted when Redis answers, maybe after delivery

    assert "viper_bus_redis_sent_total 3.0" in set(scrape(a))
    b_lines = set(scrape(b))
    assert "viper_bus_redis_received_total 3.0" in b_lines
    assert 'viper_bus_redis_errors_total{kind="decode"} 0.0' in b_lines
    assert 'viper_bus_delivered_total{subscriber="b"} 3.0' in b_lines
