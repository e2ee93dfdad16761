"""Every ccxt call of the exchange module goes through here: rate limit, circuit breaker,
ccxt error mapping and (for calls safe to repeat) retry with backoff.

One try is `limiter -> breaker -> ccxt_errors -> the call`. Retries repeat only
`ExchangeUnavailableError` (network, 5xx, 429, timeouts); an open circuit fails fast. When the
exchange refuses the credentials, they are read again once (the vault may have rotated them).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
from loguru import logger

from viper.ccxt_errors import ccxt_errors
from viper.clock import Clock
from viper.errors import ExchangeAuthError, ExchangeUnavailableError
from viper.resilience import CircuitBreaker, OnChange, RateLimiter, retry

T = TypeVar("T")
Refresh = Callable[[], Awaitable[bool]]


class Resilience(msgspec.Struct, frozen=True, kw_only=True):
    """How hard to try: retries, the breaker's limits, the request rate."""

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    failure_threshold: int = 5
    recovery_seconds: float = 30.0
    requests_per_second: float = 10.0  # Bitget allows 10/s on its order endpoints
    burst: float = 5.0


class Gateway:
    """The guarded way to call one exchange."""

    def __init__(
        self,
        exchange_id: str,
        *,
        clock: Clock,
        settings: Resilience | None = None,
        on_change: OnChange | None = None,
        refresh: Refresh | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.exchange_id = exchange_id
        self.settings = settings = settings or Resilience()
        self._clock = clock
        self._refresh = refresh
        self._rng = rng
        self.retries = 0
        self.breaker = CircuitBreaker(
            f"exchange.{exchange_id}",
            failure_threshold=settings.failure_threshold,
            recovery_timeout=settings.recovery_seconds,
            clock=clock,
            on_change=on_change,
        )
        self.limiter = RateLimiter(settings.requests_per_second, settings.burst, clock=clock)

    async def once(self, action: str, fn: Callable[[], Awaitable[T]], symbol: str | None) -> T:
        """One try: wait for a token, pass the breaker, map ccxt's errors."""
        await self.limiter.acquire()
        async with self.breaker.guard():
            with ccxt_errors(self.exchange_id, symbol, action):
                return await fn()

    async def call(
        self,
        action: str,
        fn: Callable[[], Awaitable[T]],
        *,
        symbol: str | None = None,
        repeat: bool = True,
    ) -> T:
        """`fn()` guarded; retried on transient faults when `repeat` (safe to send twice)."""

        async def attempt() -> T:
            try:
                return await self.once(action, fn, symbol)
            except ExchangeAuthError:
                if self._refresh is None or not await self._refresh():
                    raise
                logger.info("{}: credentials changed; trying {} again", self.exchange_id, action)
                return await self.once(action, fn, symbol)

        if not repeat:
            return await attempt()
        return await self.retry(attempt, action)

    async def retry(self, fn: Callable[[], Awaitable[T]], action: str) -> T:
        """`fn()` with the core's retry and backoff, on transient exchange faults only."""
        settings = self.settings
        return await retry(
            fn,
            attempts=settings.attempts,
            base_delay=settings.base_delay,
            max_delay=settings.max_delay,
            retry_on=(ExchangeUnavailableError,),
            clock=self._clock,
            rng=self._rng,
            on_retry=lambda n, exc, delay: self._on_retry(action, n, exc, delay),
        )

    def _on_retry(self, action: str, attempt: int, exc: Exception, delay: float) -> None:
        self.retries += 1
        logger.warning(
            "{} {}: try {} failed ({}); again in {:.2f}s",
            self.exchange_id,
            action,
            attempt,
            type(exc).__name__,
            delay,
        )
