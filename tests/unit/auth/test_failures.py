"""Repeated failed token checks from one address end in 429 with Retry-After, for a while."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_config
from tests.unit.auth.conftest import client
from viper.app import ViperApp
from viper.auth.failures import FailureLimiter
from viper.clock import TestClock

BAD = "vpr_" + "C" * 43


async def test_the_eleventh_bad_token_in_a_minute_is_429_with_retry_after(
    app: ViperApp, read_token: str
) -> None:
    async with client(app, BAD, address="10.0.0.1") as http:
        for _ in range(10):
            assert (await http.get("/api/portfolio")).status_code == 401
        throttled = await http.get("/api/portfolio")
        assert throttled.status_code == 429
        assert throttled.json()["error"] == "too_many_requests"
        assert 1 <= int(throttled.headers["retry-after"]) <= 6
        login = await http.post("/auth/login", json={"token": read_token})
        assert login.status_code == 429  # signing in from there waits too
    async with client(app, read_token, address="10.0.0.1") as http:
        assert (await http.get("/api/portfolio")).status_code == 429  # even a good token
    async with client(app, read_token, address="10.0.0.2") as http:
        assert (await http.get("/api/portfolio")).status_code == 200  # other addresses: no


async def test_failed_sign_ins_count_too(app: ViperApp) -> None:
    async with client(app, address="10.0.0.3") as http:
        for _ in range(10):
            assert (await http.post("/auth/login", json={"token": BAD})).status_code == 401
        assert (await http.post("/auth/login", json={"token": BAD})).status_code == 429
        assert (
            await http.get("/api/portfolio", headers={"Authorization": "Bearer x"})
        ).status_code == 429


async def test_requests_without_a_token_are_not_failures(app: ViperApp) -> None:
    async with client(app, address="10.0.0.4") as http:
        for _ in range(30):
            assert (await http.get("/api/portfolio")).status_code == 401


async def test_the_limit_comes_from_the_config(tmp_path: Path) -> None:
    config = make_config(tmp_path, auth={"enabled": True, "max_failures_per_minute": 2})
    app = ViperApp(config)
    async with app.running(), client(app, BAD) as http:
        assert [(await http.get("/auth/me")).status_code for _ in range(3)] == [401, 401, 429]


def test_an_address_may_try_again_as_its_bucket_refills() -> None:
    clock = TestClock()
    limiter = FailureLimiter(10, clock)
    for _ in range(9):
        limiter.failed("a")
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    assert limiter.retry_after("a") == 6
    clock.advance(5)
    assert limiter.retry_after("a") == 1
    clock.advance(1)
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("b") == 0


def test_memory_stays_bounded_with_many_addresses() -> None:
    limiter = FailureLimiter(10, TestClock(), max_addresses=100)
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._buckets) <= 100
