"""The gateway: transient faults retried with backoff on the injected clock, refusals never,
an open circuit fails fast, refused credentials re-read once."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from viper.clock import TestClock
from viper.errors import (
    ExchangeAuthError,
    ExchangeRateLimitError,
    ExchangeUnavailableError,
    InsufficientFundsError,
)
from viper.modules.exchange.gateway import Gateway, Resilience
from viper.resilience import CircuitOpenError

SETTINGS = Resilience(
    attempts=3, base_delay=1.0, max_delay=4.0, failure_threshold=3, recovery_seconds=10
)


def failing(*errors: Exception) -> tuple[object, list[int]]:
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return fn, calls


async def test_transient_faults_are_retried_with_backoff(clock: TestClock) -> None:
    gateway = Gateway("bitget", clock=clock, settings=SETTINGS)
    fn, calls = failing(ccxt.RequestTimeout("slow"), ccxt.DDoSProtection("429"))

    assert await gateway.call("fetch_balance", fn) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3
    assert [round(s) for s in clock.sleeps if s >= 0.5] == [1, 2]
    assert gateway.retries == 2


async def test_a_call_not_safe_to_repeat_is_tried_once(clock: TestClock) -> None:
    gateway = Gateway("bitget", clock=clock, settings=SETTINGS)
    fn, calls = failing(ccxt.RateLimitExceeded("429"))

    with pytest.raises(ExchangeRateLimitError):
        await gateway.call("create_order", fn, repeat=False)  # type: ignore[arg-type]
    assert len(calls) == 1


async def test_refusals_are_not_retried_and_do_not_trip_the_breaker(clock: TestClock) -> None:
    gateway = Gateway("bitget", clock=clock, settings=SETTINGS)
    for _ in range(5):
        fn, calls = failing(ccxt.InsufficientFunds("40762"))
        with pytest.raises(InsufficientFundsError):
            await gateway.call("create_order", fn)  # type: ignore[arg-type]
        assert len(calls) == 1
    assert gateway.breaker.state == "closed"


async def test_an_open_circuit_fails_fast_without_calling(clock: TestClock) -> None:
    gateway = Gateway("bitget", clock=clock, settings=SETTINGS)
    fn, calls = failing(*[ccxt.ExchangeNotAvailable("down")] * 3)
    with pytest.raises(ExchangeUnavailableError):
        await gateway.call("fetch_balance", fn)  # type: ignore[arg-type]
    assert gateway.breaker.state == "open"

    with pytest.raises(CircuitOpenError):
        await gateway.call("fetch_balance", fn)  # type: ignore[arg-type]
    assert len(calls) == 3


async def test_refused_credentials_are_read_again_once(clock: TestClock) -> None:
    refreshed: list[int] = []

    async def refresh() -> bool:
        refreshed.append(1)
        return True

    gateway = Gateway("bitget", clock=clock, settings=SETTINGS, refresh=refresh)
    fn, calls = failing(ccxt.AuthenticationError("40009"))
    assert await gateway.call("fetch_balance", fn) == "ok"  # type: ignore[arg-type]

    fn, calls = failing(ccxt.AuthenticationError("a"), ccxt.AuthenticationError("b"))
    with pytest.raises(ExchangeAuthError):
        await gateway.call("fetch_balance", fn)  # type: ignore[arg-type]
    assert len(calls) == 2 and len(refreshed) == 2
