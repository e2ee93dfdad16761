"""Tests for viper.resilience: retry with backoff, the circuit breaker and the token bucket."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from viper.clock import TestClock
from viper.errors import APIError, RejectedError, TemporaryError
from viper.metrics import BreakerMetrics
from viper.resilience import (
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    RateLimiter,
    RetryPolicy,
    retry,
)


class SlowDown(TemporaryError):
    """A temporary error that says when to come back, as a 429 does."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


def failing(
    *errors: Exception, result: str = "ok"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A coroutine function raising `errors` in turn, then returning `result`; plus a call log."""
    calls: list[int] = []

    async def fn() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return fn, calls


# --- retry -----------------------------------------------------------------------------------


async def test_retry_returns_first_success_without_sleeping(clock: TestClock) -> None:
    fn, calls = failing()

    result = await retry(fn, clock=clock)

    assert result == "ok"
    assert calls == [1]
    assert clock.sleeps == []


async def test_retry_backoff_grows_exponentially_and_is_capped(clock: TestClock) -> None:
    fn, calls = failing(*[APIError("down") for _ in range(6)])

    await retry(fn, attempts=7, base_delay=1.0, max_delay=10.0, jitter=0.0, clock=clock)

    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert len(calls) == 7


async def test_retry_jitter_spreads_delays_both_ways_within_fraction(clock: TestClock) -> None:
    errors = [APIError("down") for _ in range(5)]
    expected = [1.0, 2.0, 4.0, 5.0, 5.0]
    ratios: list[float] = []

    for seed in range(50):
        clock.sleeps.clear()
        fn, _ = failing(*errors)
        await retry(
            fn,
            attempts=6,
            base_delay=1.0,
            max_delay=5.0,
            jitter=0.25,
            clock=clock,
            rng=random.Random(seed),
        )
        ratios += [slept / base for slept, base in zip(clock.sleeps, expected, strict=True)]

    assert all(0.75 <= ratio <= 1.25 for ratio in ratios)
    assert min(ratios) < 0.85
    assert max(ratios) > 1.15


async def test_retry_with_same_seed_sleeps_the_same(clock: TestClock) -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=4.0, jitter=0.3)
    fn, _ = failing(*[APIError("down") for _ in range(5)])

    await retry(
        fn, attempts=6, base_delay=0.5, max_delay=4.0, jitter=0.3, clock=clock, rng=random.Random(7)
    )

    assert clock.sleeps == policy.delays(random.Random(7))
    assert clock.sleeps != policy.delays(random.Random(8))


async def test_retry_does_not_retry_errors_outside_retry_on(clock: TestClock) -> None:
    fn, calls = failing(RejectedError("order too large"))

    with pytest.raises(RejectedError, match="order too large"):
        await retry(fn, clock=clock)

    assert calls == [1]
    assert clock.sleeps == []


async def test_retry_retries_the_error_types_given(clock: TestClock) -> None:
    fn, calls = failing(ConnectionError("reset"), ConnectionError("reset"))

    result = await retry(fn, retry_on=(ConnectionError,), jitter=0.0, clock=clock)

    assert result == "ok"
    assert calls == [1, 2, 3]
    assert clock.sleeps == [0.2, 0.4]


async def test_retry_waits_at_least_retry_after(clock: TestClock) -> None:
    fn, _ = failing(SlowDown(3.0), SlowDown(0.01))

    await retry(fn, base_delay=0.2, jitter=0.0, clock=clock)

    # 3.0 s beats the 0.2 s backoff; the 0.4 s backoff beats the 0.01 s hint.
    assert clock.sleeps == [3.0, 0.4]


async def test_retry_reads_retry_after_from_viper_error_extra(clock: TestClock) -> None:
    fn, _ = failing(APIError("rate limited", retry_after=2.5))

    await retry(fn, jitter=0.0, clock=clock)

    assert clock.sleeps == [2.5]


async def test_retry_gives_up_after_attempts_reraising_the_last_error(clock: TestClock) -> None:
    errors = [APIError(f"failure {n}") for n in range(1, 4)]
    fn, calls = failing(*errors)

    with pytest.raises(APIError) as caught:
        await retry(fn, attempts=3, jitter=0.0, clock=clock)

    assert caught.value is errors[2]
    assert calls == [1, 2, 3]
    assert clock.sleeps == [0.2, 0.4]


async def test_retry_reports_each_retry_before_sleeping(clock: TestClock) -> None:
    errors = [APIError("a"), APIError("b")]
    fn, _ = failing(*errors)
    seen: list[tuple[int, Exception, float, int]] = []

    def on_retry(attempt: int, exc: Exception, delay: float) -> None:
        seen.append((attempt, exc, delay, len(clock.sleeps)))

    await retry(fn, jitter=0.0, clock=clock, on_retry=on_retry)

    assert seen == [(1, errors[0], 0.2, 0), (2, errors[1], 0.4, 1)]


@pytest.mark.parametrize(
    ("attempts", "base_delay", "max_delay", "jitter", "message"),
    [
        (0, 0.2, 10.0, 0.2, "attempts"),
        (5, -1.0, 10.0, 0.2, "base_delay"),
        (5, 0.2, -1.0, 0.2, "max_delay"),
        (5, 0.2, 10.0, 1.5, "jitter"),
    ],
)
def test_retry_policy_rejects_nonsense(
    attempts: int, base_delay: float, max_delay: float, jitter: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(attempts=attempts, base_delay=base_delay, max_delay=max_delay, jitter=jitter)


# --- circuit breaker -------------------------------------------------------------------------


def breaker(
    clock: TestClock,
    changes: list[tuple[str, str, str]] | None = None,
    *,
    failure_threshold: int = 3,
    half_open_max_calls: int = 1,
) -> CircuitBreaker:
    """A breaker named "bitget" that opens after 3 failures and half-opens 10 s later."""

    def on_change(name: str, old: BreakerState, new: BreakerState) -> None:
        if changes is not None:
            changes.append((name, old, new))

    return CircuitBreaker(
        "bitget",
        failure_threshold=failure_threshold,
        recovery_timeout=10.0,
        half_open_max_calls=half_open_max_calls,
        clock=clock,
        on_change=on_change,
    )


async def fail_times(cb: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        fn, _ = failing(APIError("down"))
        with pytest.raises(APIError):
            await cb.call(fn)


async def test_breaker_stays_closed_below_threshold_and_success_resets_count(
    clock: TestClock,
) -> None:
    cb = breaker(clock)

    await fail_times(cb, 2)
    assert cb.failures == 2
    await cb.call(failing()[0])
    await fail_times(cb, 2)

    assert cb.state == "closed"
    assert cb.failures == 2


async def test_breaker_opens_after_threshold_consecutive_failures(clock: TestClock) -> None:
    cb = breaker(clock)

    await fail_times(cb, 3)

    assert cb.state == "open"
    assert cb.opened_count == 1


async def test_breaker_refuses_calls_while_open_without_calling(clock: TestClock) -> None:
    cb = breaker(clock)
    await fail_times(cb, 3)
    clock.advance(4.0)
    fn, calls = failing()

    with pytest.raises(CircuitOpenError, match=r"'bitget' is open; retry in 6\.0s") as caught:
        await cb.call(fn)

    assert calls == []
    assert caught.value.retry_after == pytest.approx(6.0)
    assert caught.value.to_dict()["error"] == "circuit_open"
    assert isinstance(caught.value, TemporaryError)


async def test_breaker_half_opens_after_recovery_timeout(clock: TestClock) -> None:
    cb = breaker(clock)
    await fail_times(cb, 3)

    clock.advance(9.9)
    assert cb.state == "open"
    clock.advance(0.1)

    assert cb.state == "half_open"


async def test_breaker_closes_on_successful_trial(clock: TestClock) -> None:
    cb = breaker(clock)
    await fail_times(cb, 3)
    clock.advance(10.0)
    fn, calls = failing(result="back")

    result = await cb.call(fn)

    assert result == "back"
    assert calls == [1]
    assert cb.state == "closed"
    assert cb.failures == 0


async def test_breaker_reopens_on_failed_trial_with_fresh_timeout(clock: TestClock) -> None:
    cb = breaker(clock)
    await fail_times(cb, 3)
    clock.advance(10.0)

    await fail_times(cb, 1)

    assert cb.state == "open"
    assert cb.opened_count == 2
    assert cb.retry_in() == pytest.approx(10.0)


async def test_breaker_limits_trial_calls_in_half_open(clock: TestClock) -> None:
    cb = breaker(clock, half_open_max_calls=1)
    await fail_times(cb, 3)
    clock.advance(10.0)
    release = asyncio.Event()

    async def slow_trial() -> str:
        await release.wait()
        return "ok"

    trial = asyncio.create_task(cb.call(slow_trial))
    await asyncio.sleep(0)
    fn, calls = failing()
    with pytest.raises(CircuitOpenError, match="half-open"):
        await cb.call(fn)
    release.set()
    await trial

    assert calls == []
    assert cb.state == "closed"


async def test_breaker_lets_non_failure_errors_through_without_counting(
    clock: TestClock,
) -> None:
    cb = breaker(clock)
    await fail_times(cb, 2)

    for _ in range(5):
        fn, _ = failing(RejectedError("insufficient margin"))
        with pytest.raises(RejectedError):
            await cb.call(fn)

    assert cb.state == "closed"
    assert cb.failures == 2


async def test_breaker_frees_trial_slot_after_non_failure_error(clock: TestClock) -> None:
    cb = breaker(clock)
    await fail_times(cb, 3)
    clock.advance(10.0)
    fn, _ = failing(RejectedError("bad symbol"))
    with pytest.raises(RejectedError):
        await cb.call(fn)

    await cb.call(failing()[0])

    assert cb.state == "closed"


async def test_breaker_reports_each_transition(clock: TestClock) -> None:
    changes: list[tuple[str, str, str]] = []
    cb = breaker(clock, changes)

    await fail_times(cb, 3)
    clock.advance(10.0)
    await fail_times(cb, 1)
    clock.advance(10.0)
    await cb.call(failing()[0])

    assert changes == [
        ("bitget", "closed", "open"),
        ("bitget", "open", "half_open"),
        ("bitget", "half_open", "open"),
        ("bitget", "open", "half_open"),
        ("bitget", "half_open", "closed"),
    ]


@pytest.mark.parametrize("outcome", ["success", "failure"])
async def test_breaker_ignores_late_result_of_call_admitted_before_it_opened(
    clock: TestClock, outcome: str
) -> None:
    changes: list[tuple[str, str, str]] = []
    cb = breaker(clock, changes)
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        if outcome == "failure":
            raise APIError("late timeout")
        return "late"

    straggler = asyncio.create_task(cb.call(slow))
    await asyncio.sleep(0)
    await fail_times(cb, 3)
    clock.advance(4.0)
    release.set()
    await asyncio.gather(straggler, return_exceptions=True)

    assert cb.state == "open"
    assert cb.failures == 3
    assert cb.retry_in() == pytest.approx(6.0)
    assert changes == [("bitget", "closed", "open")]


async def test_breaker_ignores_late_success_of_trial_after_another_trial_failed(
    clock: TestClock,
) -> None:
    cb = breaker(clock, half_open_max_calls=2)
    await fail_times(cb, 3)
    clock.advance(10.0)
    release = asyncio.Event()

    async def slow_trial() -> str:
        await release.wait()
        return "ok"

    slow = asyncio.create_task(cb.call(slow_trial))
    await asyncio.sleep(0)
    await fail_times(cb, 1)
    release.set()
    await slow

    assert cb.state == "open"
    assert cb.opened_count == 2


async def test_breaker_guard_counts_failures_in_its_body(clock: TestClock) -> None:
    cb = breaker(clock, failure_threshold=1)

    with pytest.raises(APIError):
        async with cb.guard():
            raise APIError("down")

    assert cb.state == "open"


async def test_breaker_reset_closes_and_clears_failures(clock: TestClock) -> None:
    changes: list[tuple[str, str, str]] = []
    cb = breaker(clock, changes)
    await fail_times(cb, 3)

    cb.reset()

    assert cb.state == "closed"
    assert cb.failures == 0
    assert cb.opened_count == 1
    assert changes[-1] == ("bitget", "open", "closed")


async def test_breaker_stats_snapshot(clock: TestClock) -> None:
    cb = breaker(clock)
    await fail_times(cb, 3)
    clock.advance(2.5)

    stats = cb.stats()

    assert stats == {
        "name": "bitget",
        "state": "open",
        "failures": 3,
        "opened_count": 1,
        "retry_in": 7.5,
        "failure_threshold": 3,
        "recovery_timeout": 10.0,
    }


@pytest.mark.parametrize(
    ("threshold", "max_calls", "timeout", "message"),
    [
        (0, 1, 1.0, "failure_threshold"),
        (1, 0, 1.0, "half_open_max_calls"),
        (1, 1, -1.0, "recovery_timeout"),
    ],
)
def test_breaker_rejects_nonsense_settings(
    clock: TestClock, threshold: int, max_calls: int, timeout: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(
            "bitget",
            failure_threshold=threshold,
            half_open_max_calls=max_calls,
            recovery_timeout=timeout,
            clock=clock,
        )


# --- rate limiter ----------------------------------------------------------------------------


async def test_limiter_allows_burst_immediately(clock: TestClock) -> None:
    limiter = RateLimiter(rate=2.0, burst=5, clock=clock)

    for _ in range(5):
        await limiter.acquire()

    assert clock.sleeps == []
    assert limiter.available == pytest.approx(0.0)


async def test_limiter_waits_for_refill_after_burst(clock: TestClock) -> None:
    limiter = RateLimiter(rate=4.0, burst=2, clock=clock)
    start = clock.monotonic()

    for _ in range(2):
        await limiter.acquire()
    await limiter.acquire()
    await limiter.acquire(2.0)

    assert clock.sleeps == pytest.approx([0.25, 0.5])
    assert clock.monotonic() - start == pytest.approx(0.75)


async def test_limiter_try_acquire_is_false_when_empty(clock: TestClock) -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)

    assert limiter.try_acquire() is True
    assert limiter.try_acquire() is False
    clock.advance(0.5)
    assert limiter.try_acquire() is False
    clock.advance(0.5)
    assert limiter.try_acquire() is True
    assert clock.sleeps == []


async def test_limiter_refill_stops_at_burst(clock: TestClock) -> None:
    limiter = RateLimiter(rate=10.0, burst=3, clock=clock)
    for _ in range(3):
        await limiter.acquire()

    clock.advance(60.0)

    assert limiter.available == pytest.approx(3.0)


async def test_limiter_serves_concurrent_acquirers_in_order_with_correct_elapsed_time(
    clock: TestClock,
) -> None:
    limiter = RateLimiter(rate=10.0, burst=2, clock=clock)
    start = clock.monotonic()
    served: list[tuple[int, float]] = []

    async def worker(n: int) -> None:
        await limiter.acquire()
        served.append((n, clock.monotonic() - start))

    await asyncio.gather(*(worker(n) for n in range(7)))

    assert [n for n, _ in served] == list(range(7))
    assert [t for _, t in served] == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert clock.monotonic() - start == pytest.approx(0.5)


async def test_limiter_try_acquire_does_not_jump_the_queue(clock: TestClock) -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)  # the waiter holds the lock and sleeps; time is refilled already

    jumped = limiter.try_acquire()
    await waiter

    assert jumped is False
    assert clock.sleeps == pytest.approx([1.0])


@pytest.mark.parametrize("tokens", [3.5, 0.0, -1.0])
async def test_limiter_rejects_impossible_requests(clock: TestClock, tokens: float) -> None:
    limiter = RateLimiter(rate=1.0, burst=3, clock=clock)

    with pytest.raises(ValueError, match="tokens"):
        await limiter.acquire(tokens)
    with pytest.raises(ValueError, match="tokens"):
        limiter.try_acquire(tokens)
    assert clock.sleeps == []


async def test_breaker_metrics_follow_state_changes(clock: TestClock) -> None:
    registry = CollectorRegistry()
    metrics = BreakerMetrics(registry)
    breaker = CircuitBreaker(
        "bitget", failure_threshold=1, clock=clock, on_change=metrics.on_change
    )

    async def fail() -> None:
        raise TemporaryError("down")

    with pytest.raises(TemporaryError):
        await breaker.call(fail)
    text = generate_latest(registry).decode()
    assert 'viper_circuit_state{breaker="bitget"} 2.0' in text
    assert 'viper_circuit_opened_total{breaker="bitget"} 1.0' in text
