"""The signal module: scores every closed candle, publishes scores and signals, serves them.

It subscribes to `CandleClosed`, scores each bar with an `IncrementalScorer` per timeframe,
publishes `ScoreComputed` for every scored bar and `SignalGenerated` at or above the
threshold, and, with Redis configured, keeps the latest score under `viper_score:{symbol}:{tf}`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence

import redis.asyncio as redis_asyncio
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.errors import TemporaryError
from viper.events import CandleClosed
from viper.http import encode
from viper.modules.base import Health, ModuleContext, Services
from viper.modules.signal.processor import SignalFilter, SignalProcessor
from viper.modules.signal.redis_sink import RedisScoreSink, score_key
from viper.modules.signal.routes import routes
from viper.modules.signal.views import ScoresPage, SignalsPage
from viper.protocols import ScoresSource
from viper.scoring import ScoreParams

REDIS_TIMEOUT_SECONDS = 2.0


class SignalCollector(Collector):
    """Prometheus counters of the module, read at scrape time."""

    def __init__(self, module: SignalModule) -> None:
        self._module = module

    def collect(self) -> Iterator[CounterMetricFamily]:
        processor, sink = self._module.processor_or_none, self._module.sink
        figures = {
            "viper_signal_scores": ("Bars scored", processor.scored if processor else 0),
            "viper_signal_signals": ("Signals generated", processor.signalled if processor else 0),
            "viper_signal_redis_errors": ("Failed Redis writes", sink.errors if sink else 0),
        }
        for name, (text, value) in figures.items():
            family = CounterMetricFamily(name, text)
            family.add_metric([], value)
            yield family


class SignalModule:
    """Signal processor: VIPER scores and signals, at /signal."""

    name = "signal"
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.processor_or_none: SignalProcessor | None = None
        self.sink: RedisScoreSink | None = None
        self._bus: EventBus | None = None
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._metrics: CollectorRegistry | None = None
        self._collector = SignalCollector(self)
        self._services: Services | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self.processor_or_none = SignalProcessor(ScoreParams.from_config(ctx.config.signal))
        self._bus = ctx.bus
        if ctx.config.redis.url:
            client = redis_asyncio.Redis.from_url(
                ctx.config.redis.url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self.sink = RedisScoreSink(client, ctx.config.cache.scores_ttl_seconds, ctx.logger)
            self._tasks.append(asyncio.create_task(self.sink.run(), name="signal.redis"))
        self._subscription = ctx.bus.subscribe(CandleClosed, self._on_candle, name="signal.candles")
        ctx.metrics.register(self._collector)
        self._metrics = ctx.metrics
        ctx.services.provide(ScoresSource, self)
        self._services = ctx.services

    async def _on_candle(self, event: CandleClosed) -> None:
        """Score the bar; publish its score, and its signal when there is one."""
        processor, bus = self.processor_or_none, self._bus
        if processor is None or bus is None:
            return
        scored = processor.process(event)
        if scored is None:
            return
        await bus.publish(scored.computed)
        if scored.signal is not None:
            await bus.publish(scored.signal)
        if self.sink is not None:
            self.sink.offer(score_key(event.symbol, event.timeframe), encode(scored.view))

    async def stop(self) -> None:
        if self._services is not None:
            self._services.withdraw(ScoresSource)
        if self._subscription is not None and self._bus is not None:
            self._bus.unsubscribe(self._subscription)
        self._subscription = None
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.sink is not None:
            await self.sink.close()
        if self._metrics is not None:
            with contextlib.suppress(KeyError):
                self._metrics.unregister(self._collector)
            self._metrics = None

    def health(self) -> Health:
        processor, sink = self.processor_or_none, self.sink
        checks: dict[str, object] = {
            "symbols_scored": len(processor.symbols) if processor else 0,
            "series": processor.series_count if processor else 0,
            "scores": processor.scored if processor else 0,
            "signals": processor.signalled if processor else 0,
            "last_score_ms": processor.last_score_ms if processor else None,
            "redis": "off" if sink is None else ("failing" if sink.failing else "ok"),
        }
        if sink is not None:
            checks["redis_errors"] = sink.errors
        if sink is not None and sink.failing:
            return Health(status="degraded", detail="writing scores to Redis fails", checks=checks)
        return Health(status="ok", checks=checks)

    # --- what the routes need -------------------------------------------------------------

    @property
    def processor(self) -> SignalProcessor:
        if self.processor_or_none is None:
            raise TemporaryError("the signal module is not running")
        return self.processor_or_none

    def latest_scores(self, symbol: str | None, timeframe: str | None) -> ScoresPage:
        return self.processor.latest(symbol, timeframe)

    def score_history(self, symbol: str | None, timeframe: str | None, n: int) -> ScoresPage:
        return self.processor.history(symbol, timeframe, n)

    def recent_signals(self, query: SignalFilter) -> SignalsPage:
        return self.processor.signals(query)
