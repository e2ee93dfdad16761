"""Slows down token guessing: failed credential checks per client address, a token bucket each.

An address may fail `per_minute` times in a burst, then once every `60 / per_minute` seconds;
while its bucket is empty every request that presents a credential answers 429.
"""

from __future__ import annotations

import math

from viper.clock import Clock
from viper.resilience import RateLimiter

MAX_ADDRESSES = 10_000
_SLACK_SECONDS = 1e-6


class FailureLimiter:
    """Counts failed token checks per client address on the injected clock."""

    def __init__(self, per_minute: int, clock: Clock, max_addresses: int = MAX_ADDRESSES) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max = max_addresses
        self._buckets: dict[str, RateLimiter] = {}

    def retry_after(self, address: str) -> int:
        """Whole seconds until `address` may try again; 0 when it may try now."""
        bucket = self._buckets.get(address)
        if bucket is None:
            return 0
        # The slack keeps float dust (5.0000001 s) from adding a whole second.
        wait = (1.0 - bucket.available) / self._rate - _SLACK_SECONDS
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, address: str) -> None:
        """Count one failure of `address`."""
        bucket = self._buckets.get(address)
        if bucket is None:
            self._forget_some()
            bucket = RateLimiter(self._rate, self.per_minute, clock=self._clock)
            self._buckets[address] = bucket
        bucket.try_acquire()

    def _forget_some(self) -> None:
        """Keep memory bounded: drop full buckets, then the oldest, past `max_addresses`."""
        if len(self._buckets) < self._max:
            return
        for address, bucket in list(self._buckets.items()):
            if bucket.available >= bucket.burst:
                del self._buckets[address]
        while len(self._buckets) >= self._max:
            del self._buckets[next(iter(self._buckets))]
