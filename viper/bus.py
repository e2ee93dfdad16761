"""The event bus: publish/subscribe by event class, each subscriber on its own bounded queue.

`InMemoryBus` is the default. The Redis Streams backend (`viper.redis_bus`) keeps this
interface and carries the same events between processes. A slow or failing handler never
stalls the others or reaches the publisher: its queue fills (then the publisher waits, or
the oldest event is dropped, as the subscription chose) and its failures are logged and
counted.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Iterator
from typing import Literal, Protocol, TypeVar

from loguru import logger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from viper.errors import ConflictError
from viper.events import BaseEvent

E = TypeVar("E", bound=BaseEvent)
Handler = Callable[[E], Awaitable[None]]
Overflow = Literal["block", "drop_oldest"]
# What a subscription takes: one event class, or several (delivered in publish order together)
EventTypes = type[E] | tuple[type[E], ...]


class EventBus(Protocol):
    """What modules see of the bus, whatever the backend."""

    def subscribe(
        self,
        event_type: EventTypes[E],
        handler: Handler[E],
        *,
        name: str,
        maxsize: int | None = None,
        overflow: Overflow = "block",
    ) -> Subscription:
        """Deliver every published `event_type` (and subclasses; or any of a tuple of
        classes, on one queue in publish order) to `handler`."""
        ...

    async def publish(self, event: BaseEvent) -> None:
        """Hand `event` to every subscriber; waits only if a blocking queue is full."""
        ...

    def publish_nowait(self, event: BaseEvent) -> None:
        """Publish from synchronous code; a full blocking queue drops and counts instead."""
        ...

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to `subscription`; its queued events are discarded."""
        ...

    async def start(self) -> None:
        """Start delivering."""
        ...

    async def stop(self) -> None:
        """Stop taking events, let each subscriber drain (bounded), then stop its task."""
        ...


class Subscription:
    """One handler, its bounded queue and the task that drains it."""

    def __init__(
        self,
        name: str,
        event_type: EventTypes[BaseEvent],
        handler: Handler,
        maxsize: int,
        overflow: Overflow,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.name = name
        self.event_type = event_type
        self.handler = handler
        self.maxsize = maxsize
        self.overflow: Overflow = overflow
        self.queue: collections.deque[BaseEvent] = collections.deque()
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._space: list[asyncio.Future[None]] = []
        self._closing = False

    @property
    def event_name(self) -> str:
        """The subscribed class's name (names joined by ' | ' for several)."""
        kinds = self.event_type if isinstance(self.event_type, tuple) else (self.event_type,)
        return " | ".join(kind.__name__ for kind in kinds)

    @property
    def depth(self) -> int:
        """Events waiting in the queue."""
        return len(self.queue)

    def offer(self, event: BaseEvent) -> bool:
        """Queue `event` when there is room (or drop the oldest); False when blocking and full."""
        queue = self.queue
        if len(queue) >= self.maxsize:
            if self.overflow == "block":
                return False
            queue.popleft()
            self.dropped += 1
        queue.append(event)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return True

    async def put(self, event: BaseEvent) -> None:
        """Queue `event`, waiting for room when the queue is full and blocking."""
        while not self.offer(event):
            if self._closing:
                self.dropped += 1
                return
            space: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._space.append(space)
            await space

    def _wake_publishers(self) -> None:
        while self._space and len(self.queue) < self.maxsize:
            space = self._space.pop(0)
            if not space.done():
                space.set_result(None)

    async def run(self) -> None:
        """Drain the queue into the handler until closed and empty."""
        queue, handler, waiting_publishers = self.queue, self.handler, self._space
        loop = asyncio.get_running_loop()
        while True:
            if not queue:
                if self._closing:
                    return
                self._waiter = loop.create_future()
                await self._waiter
                continue
            event = queue.popleft()
            if waiting_publishers:
                self._wake_publishers()
            try:  # inline, not a helper coroutine: this is the hot path of every event
                await handler(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failed(event)
            else:
                self.delivered += 1

    def _failed(self, event: BaseEvent) -> None:
        self.failed += 1
        logger.opt(exception=True).error(
            "subscriber {} failed on {}", self.name, type(event).__name__
        )

    async def catch_up(self) -> int:
        """Handle every event queued so far, in order, in the caller's task; returns how many.

        For a consumer that must not act on a state older than what was already published
        (the paper exchange prices an order only after the prices published before it). The
        subscription's own task may be handling the event before these meanwhile: a handler
        that takes a lock without awaiting first keeps the order.
        """
        queue, handled = self.queue, 0
        while queue:
            event = queue.popleft()
            if self._space:
                self._wake_publishers()
            try:
                await self.handler(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failed(event)
            else:
                self.delivered += 1
            handled += 1
        return handled

    def close(self) -> None:
        """Stop after the queue is drained; wake the task and any waiting publisher."""
        self._closing = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        for space in self._space:
            if not space.done():
                space.set_result(None)
        self._space.clear()


class InMemoryBus:
    """The in-process bus: events are delivered as the same objects, in publish order."""

    def __init__(self, *, queue_size: int = 10_000, drain_timeout: float = 5.0) -> None:
        self.queue_size = queue_size
        self.drain_timeout = drain_timeout
        self.published = 0
        self._subs: list[Subscription] = []
        self._routes: dict[type[BaseEvent], tuple[Subscription, ...]] = {}
        self._running = False
        self._stopped = False

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subs)

    def subscribe(
        self,
        event_type: EventTypes[E],
        handler: Handler[E],
        *,
        name: str,
        maxsize: int | None = None,
        overflow: Overflow = "block",
    ) -> Subscription:
        if self._stopped:
            raise ConflictError("the bus is stopped")
        sub = Subscription(name, event_type, handler, maxsize or self.queue_size, overflow)
        self._subs.append(sub)
        self._routes.clear()
        if self._running:
            self._start_task(sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subs:
            self._subs.remove(subscription)
            self._routes.clear()
            subscription.queue.clear()
            subscription.close()

    def _targets(self, event_type: type[BaseEvent]) -> tuple[Subscription, ...]:
        targets = self._routes.get(event_type)
        if targets is None:
            targets = tuple(s for s in self._subs if issubclass(event_type, s.event_type))
            self._routes[event_type] = targets
        return targets

    async def publish(self, event: BaseEvent) -> None:
        if self._stopped:
            return
        self.published += 1
        targets = self._routes.get(type(event))
        if targets is None:
            targets = self._targets(type(event))
        for sub in targets:
            queue = sub.queue
            if len(queue) < sub.maxsize and sub._waiter is None:
                queue.append(event)  # `offer`'s common case, inline: room, nobody to wake
            elif not sub.offer(event):
                await sub.put(event)

    def publish_nowait(self, event: BaseEvent) -> None:
        if self._stopped:
            return
        self.published += 1
        for sub in self._targets(type(event)):
            if not sub.offer(event):
                sub.dropped += 1

    def _start_task(self, sub: Subscription) -> None:
        sub.task = asyncio.create_task(sub.run(), name=f"bus:{sub.name}")

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for sub in self._subs:
            if sub.task is None:
                self._start_task(sub)

    async def stop(self) -> None:
        """Drain every queue (up to `drain_timeout`), then cancel what is left."""
        if self._stopped:
            return
        self._stopped = True
        self._running = False
        for sub in self._subs:
            sub.close()
        tasks = [s.task for s in self._subs if s.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.drain_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if pending:
                left = sum(s.depth for s in self._subs)
                logger.warning("bus stopped with {} undelivered events", left)

    def stats(self) -> dict[str, object]:
        """Counters per subscription, for /health and the dashboard."""
        return {
            "published": self.published,
            "subscriptions": [
                {
                    "name": s.name,
                    "event": s.event_name,
                    "depth": s.depth,
                    "delivered": s.delivered,
                    "failed": s.failed,
                    "dropped": s.dropped,
                    "overflow": s.overflow,
                }
                for s in self._subs
            ],
        }


class BusCollector(Collector):
    """Prometheus view of a bus, read at scrape time so publishing stays cheap."""

    def __init__(self, bus: InMemoryBus) -> None:
        self._bus = bus

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        subs = self._bus.subscriptions
        published = CounterMetricFamily("viper_bus_published", "Events published")
        published.add_metric([], self._bus.published)
        yield published
        depth = GaugeMetricFamily(
            "viper_bus_queue_depth", "Events waiting per subscriber", labels=["subscriber"]
        )
        delivered = CounterMetricFamily(
            "viper_bus_delivered", "Events handled per subscriber", labels=["subscriber"]
        )
        failed = CounterMetricFamily(
            "viper_bus_handler_failures", "Handler failures per subscriber", labels=["subscriber"]
        )
        dropped = CounterMetricFamily(
            "viper_bus_dropped", "Events dropped on a full queue", labels=["subscriber"]
        )
        for sub in subs:
            depth.add_metric([sub.name], sub.depth)
            delivered.add_metric([sub.name], sub.delivered)
            failed.add_metric([sub.name], sub.failed)
            dropped.add_metric([sub.name], sub.dropped)
        yield from (depth, delivered, failed, dropped)
