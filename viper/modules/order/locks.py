"""One asyncio lock per key, forgotten once nobody holds or waits for it."""

from __future__ import annotations

import asyncio
from types import TracebackType


class KeyedLocks:
    """Serializes actions per key (a client order id, a symbol) without growing forever."""

    def __init__(self) -> None:
        # key -> (its lock, how many hold or wait for it)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def busy(self, key: str) -> bool:
        """True while someone holds or waits for the key's lock."""
        return key in self._locks

    def __len__(self) -> int:
        return len(self._locks)

    def hold(self, key: str) -> _Held:
        """Hold the key's lock for the body of an `async with`."""
        return _Held(self._locks, key)


class _Held:
    """The `async with` of `KeyedLocks.hold` (a plain class: it runs on every order)."""

    __slots__ = ("_key", "_lock", "_locks")

    def __init__(self, locks: dict[str, tuple[asyncio.Lock, int]], key: str) -> None:
        self._locks = locks
        self._key = key
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        locks, key = self._locks, self._key
        lock, users = locks.get(key) or (asyncio.Lock(), 0)
        locks[key] = (lock, users + 1)
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: no longer a user
            self._leave(lock)
            raise
        self._lock = lock

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lock = self._lock
        if lock is not None:
            self._lock = None
            lock.release()
            self._leave(lock)

    def _leave(self, lock: asyncio.Lock) -> None:
        users = self._locks[self._key][1]
        if users <= 1:
            del self._locks[self._key]
        else:
            self._locks[self._key] = (lock, users - 1)
