"""Staying up when a remote side is not: retry with backoff, a circuit breaker, a token bucket.

All three wait on the injected clock; metrics are wired by the caller through callbacks.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Literal, TypeVar

import msgspec

from viper.clock import Clock
from viper.errors import TemporaryError, ViperError

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]
ErrorTypes = tuple[type[Exception], ...]
OnRetry = Callable[[int, Exception, float], None]
OnChange = Callable[[str, BreakerState, BreakerState], None]

# 2**63 seconds is past any sensible cap; stops huge attempt counts overflowing a float.
_MAX_EXPONENT = 63
_JITTER = random.Random()  # retry jitter needs spread, not a fresh seed per call
# A shortfall worth less than this much refill time counts as none: a clock reading near 1.7e9
# moves in steps of about 2.4e-7 s, so a sleep can land a hair short and must not loop forever.
_TIME_SLACK = 1e-6


# --- retry -----------------------------------------------------------------------------------


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How often to try and how long to wait between tries."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("base_delay and max_delay must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be a fraction in [0, 1], got {self.jitter}")

    def delay(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (0-based): capped doubling, then +/- jitter."""
        base = min(self.max_delay, self.base_delay * 2.0 ** min(retry, _MAX_EXPONENT))
        return base * (1.0 + rng.uniform(-self.jitter, self.jitter))

    def delays(self, rng: random.Random | None = None) -> list[float]:
        """Every wait a run that always fails would make: `attempts - 1` of them."""
        rng = rng if rng is not None else random.Random()
        return [self.delay(n, rng) for n in range(self.attempts - 1)]


def retry_after_of(exc: BaseException) -> float:
    """Seconds the error asks us to wait (`retry_after` attribute or ViperError extra), else 0."""
    value = getattr(exc, "retry_after", None)
    if value is None and isinstance(exc, ViperError):
        value = exc.extra.get("retry_after")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return max(0.0, float(value))


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    base_delay: float = 0.2,
    max_delay: float = 10.0,
    jitter: float = 0.2,
    retry_on: ErrorTypes = (TemporaryError,),
    clock: Clock,
    rng: random.Random | None = None,
    on_retry: OnRetry | None = None,
) -> T:
    """Await `fn()` until it succeeds, sleeping on `clock` between tries.

    Only errors in `retry_on` are retried; the last one is re-raised after `attempts` tries.
    An error's `retry_after` (seconds) is a floor on the next wait. `on_retry(attempt, exc,
    delay)` runs before each sleep; `attempt` is the 1-based try that just failed.
    """
    policy = RetryPolicy(
        attempts=attempts, base_delay=base_delay, max_delay=max_delay, jitter=jitter
    )
    rng = rng if rng is not None else _JITTER
    attempt = 1
    while True:
        try:
            return await fn()
        except retry_on as exc:
            if attempt >= policy.attempts:
                raise
            delay = max(policy.delay(attempt - 1, rng), retry_after_of(exc))
            if on_retry is not None:
                on_retry(attempt, exc, delay)
        await clock.sleep(delay)
        attempt += 1


# --- circuit breaker ---------------------------------------------------------------------------


class CircuitOpenError(TemporaryError):
    """A circuit breaker refused the call without making it; `retry_after` says when to return."""

    code = "circuit_open"

    def __init__(self, breaker: str, retry_after: float, *, state: BreakerState = "open") -> None:
        if state == "open":
            detail = f"circuit {breaker!r} is open; retry in {retry_after:.1f}s"
        else:
            detail = f"circuit {breaker!r} is half-open and its trial calls are in flight"
        super().__init__(detail, breaker=breaker, retry_after=retry_after)
        self.breaker = breaker
        self.retry_after = retry_after


class _Ticket(msgspec.Struct, frozen=True):
    """One admitted call: the breaker epoch it was let in under, and whether it is a trial."""

    epoch: int
    trial: bool


class CircuitBreaker:
    """Stops calling a failing dependency for a while, then lets a few trial calls probe it.

    closed -> open after `failure_threshold` consecutive failures; open -> half_open once
    `recovery_timeout` seconds have passed (noticed on the next look at `state`); half_open ->
    closed on a successful trial, back to open (with a fresh timeout) on a failed one.
    Only errors in `counts_as_failure` count; others pass through and leave the count alone.
    A call that finishes after the state it was admitted under has changed does not move it.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        clock: Clock,
        counts_as_failure: ErrorTypes = (TemporaryError,),
        on_change: OnChange | None = None,
    ) -> None:
        if failure_threshold < 1 or half_open_max_calls < 1:
            raise ValueError("failure_threshold and half_open_max_calls must be at least 1")
        if recovery_timeout < 0:
            raise ValueError(f"recovery_timeout must not be negative, got {recovery_timeout}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._counts_as_failure = counts_as_failure
        self._on_change = on_change
        self._state: BreakerState = "closed"
        self._epoch = 0
        self._failures = 0
        self._opened_count = 0
        self._opened_at = 0.0
        self._trials = 0

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker past its timeout turns half-open here."""
        if self._state == "open" and self.retry_in() <= 0:
            self._move("half_open")
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive counted failures since the last success."""
        return self._failures

    @property
    def opened_count(self) -> int:
        """How many times the breaker has opened in its lifetime."""
        return self._opened_count

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial through; 0 when not open."""
        if self._state != "open":
            return 0.0
        elapsed = self._clock.monotonic() - self._opened_at
        return max(0.0, self.recovery_timeout - elapsed)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Await `fn()` through the breaker, or raise `CircuitOpenError` without calling it."""
        async with self.guard():
            return await fn()

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """The body of `async with breaker.guard():` is one call through the breaker."""
        ticket = self._admit()
        try:
            yield
        except self._counts_as_failure:
            self._record_failure(ticket)
            raise
        except BaseException:
            self._release(ticket)
            raise
        self._record_success(ticket)

    def reset(self) -> None:
        """Close the breaker and forget counted failures (`opened_count` is kept)."""
        self._failures = 0
        if self._state != "closed":
            self._move("closed")

    def stats(self) -> dict[str, str | int | float]:
        """A plain snapshot for health endpoints and logs."""
        return {
            "name": self.name,
            "state": self.state,
            "failures": self._failures,
            "opened_count": self._opened_count,
            "retry_in": round(self.retry_in(), 3),
            "failure_threshold": self.failure_threshold,
            "recovery_timeout": self.recovery_timeout,
        }

    def _admit(self) -> _Ticket:
        state = self.state
        if state == "open":
            raise CircuitOpenError(self.name, self.retry_in())
        if state == "half_open":
            if self._trials >= self.half_open_max_calls:
                raise CircuitOpenError(self.name, 0.0, state="half_open")
            self._trials += 1
            return _Ticket(self._epoch, trial=True)
        return _Ticket(self._epoch, trial=False)

    def _record_success(self, ticket: _Ticket) -> None:
        if ticket.epoch != self._epoch:
            return
        self._failures = 0
        if ticket.trial:
            self._move("closed")

    def _record_failure(self, ticket: _Ticket) -> None:
        if ticket.epoch != self._epoch:
            return
        self._failures += 1
        if ticket.trial or self._failures >= self.failure_threshold:
            self._move("open")

    def _release(self, ticket: _Ticket) -> None:
        if ticket.trial and ticket.epoch == self._epoch:
            self._trials -= 1

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        # A new epoch makes every call still in flight from the old state stale.
        self._epoch += 1
        self._trials = 0
        if new == "open":
            self._opened_at = self._clock.monotonic()
            self._opened_count += 1
        if self._on_change is not None:
            self._on_change(self.name, old, new)


# --- rate limiter ------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket: `rate` tokens a second, at most `burst` saved up; waiters served in order."""

    def __init__(self, rate: float, burst: float, *, clock: Clock) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError(f"rate and burst must be positive, got rate={rate} burst={burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock.monotonic()
        # asyncio.Lock wakes waiters first come, first served: that is the fairness.
        self._lock = asyncio.Lock()

    @property
    def available(self) -> float:
        """Tokens that could be taken right now."""
        self._refill()
        return self._tokens

    async def acquire(self, tokens: float = 1.0) -> None:
        """Take `tokens`, sleeping on the clock until the bucket holds enough."""
        self._check(tokens)
        async with self._lock:
            while (wait := self._take(tokens)) > 0:
                await self._clock.sleep(wait)

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take `tokens` if they are there now and nobody is queued ahead; never waits."""
        self._check(tokens)
        if self._lock.locked():
            return False
        return self._take(tokens) == 0

    def _check(self, tokens: float) -> None:
        if tokens <= 0:
            raise ValueError(f"tokens must be positive, got {tokens}")
        if tokens > self.burst:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self.burst}")

    def _take(self, tokens: float) -> float:
        """Take `tokens` and return 0, or take none and return the seconds until they are there."""
        self._refill()
        shortfall = tokens - self._tokens
        if shortfall > self.rate * _TIME_SLACK:
            return shortfall / self.rate
        self._tokens = max(0.0, self._tokens - tokens)
        return 0.0

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = now
