"""REST polling: `fetch_ohlcv` and `fetch_ticker` per symbol every interval.

The fallback when no websocket is available. Each poll asks only for bars since the last
closed one, so a failed poll is caught up by the next that works, and no bar goes out twice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from loguru import logger

from viper.clock import Clock
from viper.domain import Candle
from viper.modules.streamer.feed import CandleCloser, FeedSink, tick_of
from viper.modules.streamer.rest import catch_up, describe, is_transient
from viper.resilience import RetryPolicy


class PollingSource:
    """Polls an async ccxt client; backs off (capped) while the exchange fails."""

    name = "poll"

    def __init__(
        self,
        client: Any,
        symbols: Sequence[str],
        timeframe: str,
        *,
        exchange: str,
        interval: float,
        warmup: int,
        max_delay: float,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.exchange = exchange
        self._client = client
        self._symbols = tuple(symbols)
        self._timeframe = timeframe
        self._interval = interval
        self._warmup = warmup
        self._clock = clock
        self._rng = rng or random.Random()
        self._policy = RetryPolicy(base_delay=interval, max_delay=max(interval, max_delay))
        self._closers = {s: CandleCloser() for s in self._symbols}
        self._failing: dict[str, int] = {}
        self._emitted = dict.fromkeys(self._symbols, 0)
        self._outage_mark: dict[str, int] = {}
        self.polls = 0
        self.errors = 0
        self.recoveries = 0
        self.backfilled = 0
        self.last_error = ""
        self._closed = False

    async def run(self, sink: FeedSink) -> None:
        """Poll every symbol, then wait the interval (longer while polls fail)."""
        while True:
            for symbol in self._symbols:
                await self._poll(symbol, sink)
            self.polls += 1
            failures = max(self._failing.values(), default=0)
            delay = self._interval if not failures else self._policy.delay(failures, self._rng)
            await self._clock.sleep(delay)

    async def _poll(self, symbol: str, sink: FeedSink) -> None:
        async def emit(candle: Candle) -> None:
            await sink.candle(symbol, candle)
            self._emitted[symbol] += 1  # counted as they go: a catch-up may fail part way

        try:
            closer = self._closers[symbol]
            await catch_up(
                self._client, symbol, self._timeframe, closer, warmup=self._warmup, emit=emit
            )
            ticker = await self._client.fetch_ticker(symbol)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._failed(symbol, exc, sink)
            return
        tick = tick_of(ticker, self._clock.now_ms())
        if tick is not None:
            await sink.tick(symbol, tick)
        if self._failing.pop(symbol, None) is not None:
            backfilled = self._emitted[symbol] - self._outage_mark.pop(symbol, 0)
            self.recoveries += 1
            self.backfilled += backfilled
            await sink.resumed(symbol, backfilled)

    def _failed(self, symbol: str, exc: Exception, sink: FeedSink) -> None:
        self.errors += 1
        self.last_error = describe(exc)
        count = self._failing.get(symbol, 0)
        self._failing[symbol] = count + 1
        if count == 0:
            self._outage_mark[symbol] = self._emitted[symbol]
            logger.warning("polling {} failed: {}; retrying with backoff", symbol, self.last_error)
            sink.disconnected(symbol, self.last_error)

    async def close(self) -> None:
        """Close the ccxt client once."""
        if not self._closed:
            self._closed = True
            await self._client.close()

    def stats(self) -> dict[str, Any]:
        return {
            "polls": self.polls,
            "errors": self.errors,
            "reconnects": self.recoveries,
            "backfilled": self.backfilled,
            "failing": sorted(self._failing),
            "last_error": self.last_error,
        }
