"""A multi-level read-through cache: in-process LRU with TTLs, then Redis when configured, then
the loader (the file).

Kinds have their own lifetimes (market data 300 s, scores 600 s, config 3600 s by default).
Values cross Redis as bytes through a per-call codec; a Redis fault is logged and counted and
the read goes on to the next level, never failing the caller.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from loguru import logger
from prometheus_client import CollectorRegistry, Counter, Histogram

from viper.clock import Clock

T = TypeVar("T")
LEVELS = ("memory", "redis", "source")


class Codec(Generic[T]):
    """How a value becomes bytes for Redis and back."""

    def __init__(self, encode: Callable[[T], bytes], decode: Callable[[bytes], T]) -> None:
        self.encode = encode
        self.decode = decode


class CacheMetrics:
    """Hits and misses by kind and level, and the latency of a hit."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.hits = Counter(
            "viper_cache_hits", "Cache hits by kind and level", ["kind", "level"], registry=registry
        )
        self.misses = Counter(
            "viper_cache_misses",
            "Cache misses by kind and level",
            ["kind", "level"],
            registry=registry,
        )
        self.errors = Counter(
            "viper_cache_errors", "Cache level failures (Redis down)", ["level"], registry=registry
        )
        self.latency = Histogram(
            "viper_cache_get_seconds",
            "Time to answer a cache read, by the level that answered",
            ["level"],
            buckets=(1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.02, 0.1, 0.5, 2),
            registry=registry,
        )


class TTLCache:
    """A bounded LRU whose entries expire after their kind's lifetime."""

    def __init__(self, max_entries: int, clock: Clock) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()

    def get(self, kind: str, key: str) -> tuple[bool, Any]:
        """(found, value); an expired entry counts as not found and is dropped."""
        entry = self._entries.get((kind, key))
        if entry is None:
            return False, None
        expires, value = entry
        if expires <= self._clock.monotonic():
            del self._entries[(kind, key)]
            return False, None
        self._entries.move_to_end((kind, key))
        return True, value

    def put(self, kind: str, key: str, value: Any, ttl: float) -> None:
        """Store `value` for `ttl` seconds, evicting the least recently used beyond the bound."""
        self._entries[(kind, key)] = (self._clock.monotonic() + ttl, value)
        self._entries.move_to_end((kind, key))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, kind: str, key: str) -> None:
        self._entries.pop((kind, key), None)

    def __len__(self) -> int:
        return len(self._entries)


class Cache:
    """Memory, then Redis (optional), then the loader; writes fill the levels above."""

    def __init__(
        self,
        *,
        ttls: Mapping[str, float],
        max_entries: int,
        clock: Clock,
        redis: Any | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.ttls = dict(ttls)
        self.memory = TTLCache(max_entries, clock)
        self.redis = redis
        self.metrics = CacheMetrics(registry)

    def ttl(self, kind: str) -> float:
        """Lifetime of entries of `kind` (unknown kinds get the market-data lifetime)."""
        return self.ttls.get(kind, self.ttls.get("market_data", 300.0))

    async def get(
        self, kind: str, key: str, load: Callable[[], Awaitable[T]], codec: Codec[T] | None = None
    ) -> T:
        """The value of `key`, from the fastest level that has it."""
        started = time.perf_counter()
        found, value = self.memory.get(kind, key)
        if found:
            self._hit(kind, "memory", started)
            return value
        self.metrics.misses.labels(kind, "memory").inc()
        if self.redis is not None and codec is not None:
            raw = await self._redis_get(key)
            if raw is not None:
                value = codec.decode(raw)
                self.memory.put(kind, key, value, self.ttl(kind))
                self._hit(kind, "redis", started)
                return value
            self.metrics.misses.labels(kind, "redis").inc()
        value = await load()
        await self.put(kind, key, value, codec)
        self._hit(kind, "source", started)
        return value

    async def put(self, kind: str, key: str, value: T, codec: Codec[T] | None = None) -> None:
        """Store `value` in memory and, with a codec, in Redis."""
        ttl = self.ttl(kind)
        self.memory.put(kind, key, value, ttl)
        if self.redis is not None and codec is not None:
            try:
                await self.redis.set(key, codec.encode(value), ex=max(1, int(ttl)))
            except Exception as exc:  # Redis is a cache: a fault must not fail the read
                self._redis_failed("set", exc)

    async def invalidate(self, kind: str, key: str) -> None:
        """Forget `key` at every level (after the source changed)."""
        self.memory.drop(kind, key)
        if self.redis is not None:
            try:
                await self.redis.delete(key)
            except Exception as exc:
                self._redis_failed("delete", exc)

    async def _redis_get(self, key: str) -> bytes | None:
        try:
            raw: bytes | None = await self.redis.get(key)  # type: ignore[union-attr]
        except Exception as exc:
            self._redis_failed("get", exc)
            return None
        return raw

    def _redis_failed(self, operation: str, exc: Exception) -> None:
        self.metrics.errors.labels("redis").inc()
        logger.warning("cache: Redis {} failed: {}", operation, type(exc).__name__)

    def _hit(self, kind: str, level: str, started: float) -> None:
        self.metrics.hits.labels(kind, level).inc()
        self.metrics.latency.labels(level).observe(time.perf_counter() - started)
