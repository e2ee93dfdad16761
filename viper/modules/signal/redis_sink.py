"""The latest score of each series, written to Redis under the original `viper_score:` keys.

Writes happen on a background task that keeps only the newest payload per key, so a slow or
absent Redis never holds up scoring; each failure is counted and logged (once per outage).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import loguru


def score_key(symbol: str, timeframe: str) -> str:
    """The Redis key of a series' latest score, as the original system named it."""
    return f"viper_score:{symbol}:{timeframe}"


class RedisScoreSink:
    """Writes the newest payload per key with a TTL; coalesces bursts; never raises."""

    def __init__(self, client: Any, ttl_seconds: int, logger: loguru.Logger) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._log = logger
        self._pending: dict[str, bytes] = {}
        self._wake = asyncio.Event()
        self.written = 0
        self.errors = 0
        self.failing = False

    def offer(self, key: str, payload: bytes) -> None:
        """Queue `payload` for `key`, replacing any not yet written."""
        self._pending[key] = payload
        self._wake.set()

    @property
    def pending(self) -> int:
        """Keys waiting to be written."""
        return len(self._pending)

    async def run(self) -> None:
        """Write whatever is pending, forever (until cancelled)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            for key, payload in batch.items():
                await self._write(key, payload)

    async def _write(self, key: str, payload: bytes) -> None:
        try:
            await self._client.set(key, payload, ex=self._ttl)
        except Exception as exc:  # Redis is a cache here: count, log once, go on scoring
            self.errors += 1
            if not self.failing:
                self._log.warning("writing scores to Redis failed: {}", type(exc).__name__)
            self.failing = True
            return
        if self.failing:
            self._log.info("writing scores to Redis works again")
        self.failing = False
        self.written += 1

    async def close(self) -> None:
        """Close the Redis client; safe twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
