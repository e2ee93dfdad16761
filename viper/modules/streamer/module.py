"""The streamer module: market data (replayed, polled or live) onto the bus, and its HTTP views.

It runs one source, publishes each closed bar as `CandleClosed` (awaiting a full subscriber,
never dropping) and each tick as `Ticker` (dropped on a full queue, a newer one follows), watches
for symbols gone quiet, and serves the latest view and an SSE stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from loguru import logger
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.clock import Clock
from viper.config import StreamerConfig, TradingConfig
from viper.domain import Candle
from viper.errors import ConfigError, ViperError
from viper.events import BaseEvent, CandleClosed, MarketDataResumed, MarketDataStale, Ticker
from viper.modules.base import Health, ModuleContext
from viper.modules.streamer.feed import Source, Tick
from viper.modules.streamer.routes import routes
from viper.modules.streamer.sources import ClientFactory, build_source, source_kind, stale_after
from viper.modules.streamer.staleness import Staleness
from viper.modules.streamer.state import MarketState, Realtime, pick_symbols
from viper.protocols import CandleSource
from viper.timeframes import timeframe_ms

STREAM_QUEUE = 256  # events one SSE client may fall behind by before its oldest are dropped


class StreamClient:
    """One SSE client's view of the bus: its own drop-oldest subscriptions and a small queue."""

    def __init__(
        self,
        bus: EventBus,
        symbols: Sequence[str],
        name: str,
        on_close: Callable[[StreamClient], None] | None = None,
    ) -> None:
        self._bus = bus
        self._on_close = on_close
        self._symbols = frozenset(symbols)
        self._queue: asyncio.Queue[BaseEvent | None] = asyncio.Queue(STREAM_QUEUE)
        self.closed = False
        self.dropped = 0
        self._subs: list[Subscription] = [
            bus.subscribe(
                kind,
                self._offer,
                name=f"{name}:{kind.__name__}",
                maxsize=STREAM_QUEUE,
                overflow="drop_oldest",
            )
            for kind in (CandleClosed, Ticker)
        ]

    async def _offer(self, event: BaseEvent) -> None:
        if self.closed or getattr(event, "symbol", None) not in self._symbols:
            return
        if self._queue.full():  # never block the bus task: drop this client's oldest event
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    async def get(self) -> BaseEvent | None:
        """The next event; None once closed."""
        if self.closed:
            return None
        return await self._queue.get()

    def close(self) -> None:
        """Unsubscribe and wake the reader; safe twice."""
        if self.closed:
            return
        self.closed = True
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs.clear()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        if self._on_close is not None:
            self._on_close(self)


class Publisher:
    """The sink a source delivers to: keeps the latest view, tracks staleness, publishes."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        source: Source,
        *,
        symbols: Sequence[str],
        timeframe: str,
        stale_after: float,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self.source = source
        self.timeframe = timeframe
        self.step_ms = timeframe_ms(timeframe)
        self.state = MarketState(symbols, self.step_ms)
        self.staleness = Staleness(symbols, stale_after, clock.monotonic())
        self.reconnecting: set[str] = set()

    async def candle(self, symbol: str, candle: Candle) -> None:
        """Publish a closed bar (event time = its close); waits for room rather than drop it."""
        self.state.record_candle(symbol, candle)
        await self._seen(symbol)
        event = CandleClosed(
            ts_ms=candle.ts_ms + self.step_ms,
            exchange=self.source.exchange,
            symbol=symbol,
            timeframe=self.timeframe,
            candle=candle,
        )
        await self._bus.publish(event)

    async def tick(self, symbol: str, tick: Tick) -> None:
        """Publish a tick; a full subscriber loses it (the next one supersedes it)."""
        self.state.record_tick(symbol, tick)
        await self._seen(symbol)
        event = Ticker(
            ts_ms=tick.ts_ms,
            exchange=self.source.exchange,
            symbol=symbol,
            last=tick.last,
            bid=tick.bid,
            ask=tick.ask,
        )
        self._bus.publish_nowait(event)

    def disconnected(self, symbol: str, reason: str) -> None:
        """The source lost `symbol`'s feed and is reconnecting."""
        self.reconnecting.add(symbol)
        logger.warning("{}: market data feed lost ({}); reconnecting", symbol, reason)

    async def resumed(self, symbol: str, backfilled: int) -> None:
        """The feed of `symbol` is back after an outage: say so once, with the backfill count."""
        self.reconnecting.discard(symbol)
        self.staleness.seen(symbol, self._clock.monotonic())
        await self._publish_resumed(symbol, backfilled)

    async def _seen(self, symbol: str) -> None:
        was_stale = self.staleness.seen(symbol, self._clock.monotonic())
        # While reconnecting, `resumed` says it instead, with its backfill count.
        if was_stale and symbol not in self.reconnecting:
            await self._publish_resumed(symbol, 0)

    async def _publish_resumed(self, symbol: str, backfilled: int) -> None:
        event = MarketDataResumed(
            ts_ms=self._clock.now_ms(),
            source=self.source.name,
            symbol=symbol,
            backfilled=backfilled,
        )
        await self._bus.publish(event)

    async def watch_staleness(self) -> None:
        """Publish `MarketDataStale` once for each symbol that goes quiet; runs until cancelled."""
        while True:
            await self._clock.sleep(self.staleness.check_interval())
            for symbol, silent in self.staleness.check(self._clock.monotonic()):
                logger.warning("{}: no market data for {:.1f} s", symbol, silent)
                event = MarketDataStale(
                    ts_ms=self._clock.now_ms(),
                    source=self.source.name,
                    symbol=symbol,
                    silent_seconds=round(silent, 3),
                )
                await self._bus.publish(event)


def _settings(ctx: ModuleContext) -> tuple[StreamerConfig, TradingConfig, int]:
    """The streamer's section, the trading symbols and timeframe, and the bar length in ms."""
    cfg = ctx.section if isinstance(ctx.section, StreamerConfig) else StreamerConfig()
    trading = ctx.config.trading
    if not trading.symbols:
        raise ConfigError("trading.symbols: the streamer needs at least one symbol")
    try:
        step_ms = timeframe_ms(trading.timeframe, "trading.timeframe")
    except ViperError as exc:
        raise ConfigError(exc.detail) from None
    return cfg, trading, step_ms


class StreamerModule:
    """Streams candles and ticks onto the bus and serves /streamer/realtime and /streamer/stream."""

    name = "streamer"
    requires: tuple[str, ...] = ()
    after: tuple[str, ...] = ("data",)  # start after these when they are enabled

    def __init__(
        self, *, client_factory: ClientFactory | None = None, heartbeat_seconds: float = 15.0
    ) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self._client_factory = client_factory
        self._bus: EventBus | None = None
        self._publisher: Publisher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._streams: set[StreamClient] = set()
        self._stream_ids = itertools.count(1)
        self._failure = ""

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._publisher.state.symbols if self._publisher is not None else ()

    async def start(self, ctx: ModuleContext) -> None:
        """Build the source, then start the feed and the staleness watchdog."""
        cfg, trading, step_ms = _settings(ctx)
        source = await build_source(
            cfg,
            ctx.config,
            clock=ctx.clock,
            candles=ctx.services.maybe(CandleSource),
            client_factory=self._client_factory,
        )
        try:
            publisher = Publisher(
                ctx.bus,
                ctx.clock,
                source,
                symbols=trading.symbols,
                timeframe=trading.timeframe,
                stale_after=stale_after(cfg, source_kind(cfg, ctx.config), step_ms),
            )
        except BaseException:
            await source.close()
            raise
        self._bus, self._publisher, self._failure = ctx.bus, publisher, ""
        self._tasks = [
            asyncio.create_task(self._feed(publisher), name="streamer:feed"),
            asyncio.create_task(publisher.watch_staleness(), name="streamer:staleness"),
        ]
        logger.info(
            "streaming {} {} from {} ({})",
            ", ".join(trading.symbols),
            trading.timeframe,
            source.name,
            source.exchange,
        )

    async def stop(self) -> None:
        """End every SSE stream, cancel and await the tasks, close the source; safe twice."""
        for client in list(self._streams):
            client.close()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.source.close()

    async def _feed(self, publisher: Publisher) -> None:
        source = publisher.source
        try:
            await source.run(publisher)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failure = f"{type(exc).__name__}: {exc}"
            logger.opt(exception=exc).error("the {} source failed: {}", source.name, self._failure)
        else:
            logger.info("the {} source has no more data", source.name)

    # --- views -----------------------------------------------------------------------------

    def realtime(self, symbols: str | None = None) -> Realtime:
        """The latest tick and closed bar per symbol (all, or those named, comma-separated)."""
        picked = pick_symbols(symbols, self.symbols)
        pub = self._publisher
        if pub is None:
            return Realtime(source="", exchange="", timeframe="", symbols={})
        return Realtime(
            source=pub.source.name,
            exchange=pub.source.exchange,
            timeframe=pub.timeframe,
            symbols=pub.state.quotes(picked, pub.staleness.stale),
        )

    def pick_symbols(self, symbols: str | None) -> list[str]:
        """The streamed symbols named in `symbols` (all when empty); NotFoundError for strays."""
        return pick_symbols(symbols, self.symbols)

    def open_stream(self, symbols: Sequence[str]) -> StreamClient:
        """Subscribe a new SSE client to the candles and ticks of `symbols`."""
        if self._bus is None or self._publisher is None:
            raise ConfigError("the streamer is not running")
        name = f"streamer:sse:{next(self._stream_ids)}"
        client = StreamClient(self._bus, symbols, name, on_close=self._streams.discard)
        self._streams.add(client)
        return client

    def health(self) -> Health:
        pub = self._publisher
        if pub is None:
            return Health(status="down", detail="not started")
        stats = pub.source.stats()
        stale = pub.staleness.stale
        checks: dict[str, Any] = {
            "source": pub.source.name,
            "exchange": pub.source.exchange,
            "timeframe": pub.timeframe,
            "symbols": list(pub.state.symbols),
            "last_bar_ms": {s: pub.state.last_close_ms(s) for s in pub.state.symbols},
            "stale": list(stale),
            "reconnecting": sorted(pub.reconnecting),
            "reconnects": stats.get("reconnects", 0),
            "backfilled": stats.get("backfilled", 0),
            "streams": len(self._streams),
            **{k: v for k, v in stats.items() if k not in ("reconnects", "backfilled")},
        }
        if self._failure:
            return Health(status="down", detail=f"source failed: {self._failure}", checks=checks)
        problems = []
        waiting = [s for s in pub.state.symbols if not pub.state.has_data(s)]
        if waiting and stats.get("errors"):
            problems.append(f"no data yet for {', '.join(waiting)}: {stats.get('last_error')}")
        if stats.get("finished"):
            problems.append("replay finished: no more stored candles")
        if stale:
            problems.append(f"stale: {', '.join(stale)}")
        if pub.reconnecting:
            problems.append(f"reconnecting: {', '.join(sorted(pub.reconnecting))}")
        if problems:
            return Health(status="degraded", detail="; ".join(problems), checks=checks)
        return Health(status="ok", checks=checks)
