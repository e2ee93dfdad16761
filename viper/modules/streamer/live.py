"""Live market data over the exchange's websocket (ccxt.pro): candles and tickers per symbol.

A bar is delivered when it closes, that is when a bar with a later open time arrives. When the
connection breaks, each symbol backs off (doubling, capped), watches again (ccxt reconnects and
resubscribes), fetches over REST every bar it missed, delivers them in order, then says resumed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from functools import partial
from typing import Any

from loguru import logger

from viper.clock import Clock
from viper.domain import Candle
from viper.modules.streamer.feed import CandleCloser, FeedSink, candles_of, tick_of
from viper.modules.streamer.rest import catch_up, describe, is_transient
from viper.resilience import RetryPolicy
from viper.timeframes import timeframe_ms

BASE_DELAY = 0.5  # first reconnect wait, seconds; doubles up to the configured cap


class LiveSource:
    """Watches OHLCV and tickers of every symbol on one ccxt.pro client."""

    name = "live"

    def __init__(
        self,
        client: Any,
        symbols: Sequence[str],
        timeframe: str,
        *,
        exchange: str,
        warmup: int,
        max_delay: float,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.exchange = exchange
        self._client = client
        self._symbols = tuple(symbols)
        self._timeframe = timeframe
        self._step_ms = timeframe_ms(timeframe)
        self._warmup = warmup
        self._clock = clock
        self._rng = rng or random.Random()
        self._policy = RetryPolicy(base_delay=min(BASE_DELAY, max_delay), max_delay=max_delay)
        self._closers = {s: CandleCloser() for s in self._symbols}
        self.outages: set[str] = set()
        self._emitted = dict.fromkeys(self._symbols, 0)
        self._outage_mark: dict[str, int] = {}
        self.reconnects = 0
        self.backfilled = 0
        self.errors = 0
        self.last_error = ""
        self._closed = False

    async def run(self, sink: FeedSink) -> None:
        """Load markets, then watch candles and tickers of every symbol until cancelled."""
        await self._retrying("markets", self._client.load_markets)
        async with asyncio.TaskGroup() as group:
            for symbol in self._symbols:
                group.create_task(self._candles(symbol, sink), name=f"streamer:ohlcv:{symbol}")
                group.create_task(self._tickers(symbol, sink), name=f"streamer:ticker:{symbol}")

    async def _retrying(self, what: str, fn: Any) -> Any:
        attempt = 0
        while True:
            try:
                return await fn()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self._backoff(what, exc, attempt)
                attempt += 1

    async def _candles(self, symbol: str, sink: FeedSink) -> None:
        closer = self._closers[symbol]
        history = partial(self._catch_up, symbol, sink)
        await self._retrying(f"{symbol} history", history)
        attempt = 0
        while True:
            try:
                candles = candles_of(await self._client.watch_ohlcv(symbol, self._timeframe))
                if symbol in self.outages:
                    await self._resume(symbol, sink)
                elif closer.gap_before(candles, self._step_ms):
                    count = await self._catch_up(symbol, sink)
                    self.backfilled += count
                    logger.info("{}: pushes skipped bars; {} backfilled over REST", symbol, count)
                for candle in closer.feed(candles):
                    await sink.candle(symbol, candle)
                attempt = 0
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if symbol not in self.outages:
                    self.outages.add(symbol)
                    self._outage_mark[symbol] = self._emitted[symbol]
                    sink.disconnected(symbol, describe(exc))
                await self._backoff(f"{symbol} candles", exc, attempt)
                attempt += 1

    async def _catch_up(self, symbol: str, sink: FeedSink) -> int:
        async def emit(candle: Candle) -> None:
            await sink.candle(symbol, candle)
            self._emitted[symbol] += 1  # counted as they go: a catch-up may fail part way

        closer = self._closers[symbol]
        return await catch_up(
            self._client, symbol, self._timeframe, closer, warmup=self._warmup, emit=emit
        )

    async def _resume(self, symbol: str, sink: FeedSink) -> None:
        """Backfill what the outage hid, then report the symbol back."""
        await self._catch_up(symbol, sink)
        count = self._emitted[symbol] - self._outage_mark.pop(symbol, self._emitted[symbol])
        self.outages.discard(symbol)
        self.reconnects += 1
        self.backfilled += count
        logger.info("{} resumed after reconnecting; {} bars backfilled", symbol, count)
        await sink.resumed(symbol, count)

    async def _tickers(self, symbol: str, sink: FeedSink) -> None:
        attempt = 0
        while True:
            try:
                ticker = await self._client.watch_ticker(symbol)
                attempt = 0
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self._backoff(f"{symbol} ticker", exc, attempt)
                attempt += 1
                continue
            tick = tick_of(ticker, self._clock.now_ms())
            if tick is not None:
                await sink.tick(symbol, tick)

    async def _backoff(self, what: str, exc: Exception, attempt: int) -> None:
        self.errors += 1
        self.last_error = describe(exc)
        delay = self._policy.delay(attempt, self._rng)
        logger.warning("{} failed ({}); retry in {:.1f} s", what, self.last_error, delay)
        await self._clock.sleep(delay)

    async def close(self) -> None:
        """Close the ccxt client (websockets and HTTP session) once."""
        if not self._closed:
            self._closed = True
            await self._client.close()

    def stats(self) -> dict[str, Any]:
        return {
            "reconnects": self.reconnects,
            "backfilled": self.backfilled,
            "errors": self.errors,
            "reconnecting": sorted(self.outages),
            "last_error": self.last_error,
        }
