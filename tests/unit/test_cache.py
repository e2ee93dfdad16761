"""Multi-level cache: memory with TTL and LRU bound, Redis in between, the source last."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as redis_asyncio
from prometheus_client import CollectorRegistry, generate_latest

from viper.cache import Cache, Codec, TTLCache
from viper.clock import TestClock

TEXT = Codec[str](lambda s: s.encode(), lambda b: b.decode())


class Source:
    def __init__(self, value: str = "v1") -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        return self.value


def test_ttl_cache_expires_and_evicts_least_recently_used(clock: TestClock) -> None:
    cache = TTLCache(2, clock)
    cache.put("k", "a", 1, ttl=10)
    cache.put("k", "b", 2, ttl=10)
    assert cache.get("k", "a") == (True, 1)  # a is now the most recent
    cache.put("k", "c", 3, ttl=10)
    assert cache.get("k", "b") == (False, None)
    clock.advance(10.01)
    assert cache.get("k", "a") == (False, None)


async def test_memory_hit_skips_the_source(clock: TestClock) -> None:
    registry = CollectorRegistry()
    cache = Cache(ttls={"market_data": 300}, max_entries=10, clock=clock, registry=registry)
    source = Source()
    assert await cache.get("market_data", "market_data:BTC:1m", source) == "v1"
    assert await cache.get("market_data", "market_data:BTC:1m", source) == "v1"
    assert source.calls == 1
    text = generate_latest(registry).decode()
    assert 'viper_cache_hits_total{kind="market_data",level="memory"} 1.0' in text
    assert 'viper_cache_misses_total{kind="market_data",level="memory"} 1.0' in text


async def test_each_kind_has_its_own_lifetime(clock: TestClock) -> None:
    cache = Cache(ttls={"market_data": 300, "scores": 600}, max_entries=10, clock=clock)
    candles, scores = Source(), Source()
    await cache.get("market_data", "m", candles)
    await cache.get("scores", "s", scores)
    clock.advance(301)
    await cache.get("market_data", "m", candles)
    await cache.get("scores", "s", scores)
    assert (candles.calls, scores.calls) == (2, 1)


async def test_redis_level_serves_a_second_process(clock: TestClock, redis_url: str) -> None:
    client = redis_asyncio.Redis.from_url(redis_url)
    key = f"market_data:TEST{uuid.uuid4().hex}:1m"
    try:
        first = Cache(ttls={"market_data": 300}, max_entries=10, clock=clock, redis=client)
        second = Cache(ttls={"market_data": 300}, max_entries=10, clock=clock, redis=client)
        source = Source("candles")
        assert await first.get("market_data", key, source, TEXT) == "candles"
        assert await second.get("market_data", key, source, TEXT) == "candles"
        assert source.calls == 1
        assert 0 < await client.ttl(key) <= 300
        await first.invalidate("market_data", key)
        assert await client.get(key) is None
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_redis_fault_falls_through_to_the_source(clock: TestClock) -> None:
    dead = redis_asyncio.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    registry = CollectorRegistry()
    cache = Cache(ttls={}, max_entries=10, clock=clock, redis=dead, registry=registry)
    source = Source()
    assert await cache.get("market_data", "k", source, TEXT) == "v1"
    assert 'viper_cache_errors_total{level="redis"}' in generate_latest(registry).decode()
    await dead.aclose()


@pytest.mark.parametrize("kind", ["unknown_kind"])
def test_unknown_kind_gets_the_market_data_lifetime(clock: TestClock, kind: str) -> None:
    cache = Cache(ttls={"market_data": 42}, max_entries=1, clock=clock)
    assert cache.ttl(kind) == 42
