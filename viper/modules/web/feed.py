"""The dashboard's live feed: bus events as numbered SSE frames, one bounded feed per client.

Each client has its own bus subscription (drop-oldest, so a slow browser never holds up the
bus) and its own small backlog. Frames carry a per-client sequence number as their SSE `id`;
every event lost on the way (by the bus or by the backlog) still takes a number, so a jump in
the ids tells the page it missed something and should read the REST views again.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

from viper.bus import EventBus, Subscription
from viper.events import (
    AlertRaised,
    BaseEvent,
    CandleClosed,
    ExchangeConnectionChanged,
    KillSwitchChanged,
    MarketDataResumed,
    MarketDataStale,
    ModuleStateChanged,
    OrderFilled,
    OrderUpdated,
    PositionChanged,
    RiskLevelsChanged,
    ScoreComputed,
    SignalGenerated,
    Ticker,
    TradeRejected,
    TradingStateChanged,
)
from viper.http import encode

# What the dashboard shows, and the SSE event name each is sent under.
EVENT_NAMES: dict[type[BaseEvent], str] = {
    CandleClosed: "candle",
    Ticker: "ticker",
    ScoreComputed: "score",
    SignalGenerated: "signal",
    OrderUpdated: "order",
    OrderFilled: "fill",
    PositionChanged: "position",
    TradeRejected: "rejected",
    AlertRaised: "alert",
    KillSwitchChanged: "kill_switch",
    TradingStateChanged: "trading",
    RiskLevelsChanged: "risk_levels",
    ModuleStateChanged: "module",
    MarketDataStale: "market_stale",
    MarketDataResumed: "market_resumed",
    ExchangeConnectionChanged: "exchange",
}


class FrameCache:
    """Each event's SSE body (`event:` and `data:` lines), encoded once for every client."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._bodies: collections.OrderedDict[str, bytes] = collections.OrderedDict()

    def body(self, event: BaseEvent) -> bytes | None:
        """The body of `event`, or None when the dashboard does not show its kind."""
        name = EVENT_NAMES.get(type(event))
        if name is None:
            return None
        body = self._bodies.get(event.id)
        if body is None:
            body = b"event: %s\ndata: %s\n\n" % (name.encode(), encode(event))
            self._bodies[event.id] = body
            if len(self._bodies) > self.capacity:
                self._bodies.popitem(last=False)
        return body


class DashboardFeed:
    """One dashboard client: a drop-oldest bus subscription and a bounded backlog of frames."""

    def __init__(
        self,
        bus: EventBus,
        cache: FrameCache,
        *,
        name: str,
        backlog: int,
        hello: bytes = b"",
        on_close: Callable[[DashboardFeed], None] | None = None,
    ) -> None:
        self.name = name
        self.closed = False
        self.sent = 0  # frames handed to the stream
        self.dropped = 0  # frames the backlog had no room for
        self._bus = bus
        self._cache = cache
        self._backlog = backlog
        self._on_close = on_close
        self._frames: collections.deque[bytes] = collections.deque([hello] if hello else [])
        self._seq = 0
        self._lost_upstream = 0
        self._reader: asyncio.Future[None] | None = None
        self._sub: Subscription = bus.subscribe(
            BaseEvent, self._relay, name=name, maxsize=backlog, overflow="drop_oldest"
        )

    @property
    def lost(self) -> int:
        """Events this client missed: dropped by the bus or by the backlog."""
        return self._sub.dropped + self.dropped

    async def _relay(self, event: BaseEvent) -> None:
        body = self._cache.body(event)
        if body is None or self.closed:
            return
        upstream = self._sub.dropped
        self._seq += 1 + upstream - self._lost_upstream
        self._lost_upstream = upstream
        if len(self._frames) >= self._backlog:
            self._frames.popleft()
            self.dropped += 1
        self._frames.append(b"id: %d\n%s" % (self._seq, body))
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    async def get(self) -> bytes | None:
        """Every frame waiting, joined (one write for a burst); None once closed."""
        while not self._frames and not self.closed:
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None
        if self.closed:
            return None
        count = len(self._frames)
        data = b"".join(self._frames)
        self._frames.clear()
        self.sent += count
        return data

    def close(self) -> None:
        """Unsubscribe and wake the reader; safe twice."""
        if self.closed:
            return
        self.closed = True
        self._bus.unsubscribe(self._sub)
        self._frames.clear()
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)
        if self._on_close is not None:
            self._on_close(self)
