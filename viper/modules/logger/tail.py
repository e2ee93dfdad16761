"""Live tail: each SSE client gets the new records that pass its filter, on its own small queue.

Records may come from any thread (loguru calls the sink where the log call happens); they are
handed to the event loop's thread, where the queues live. A client that falls behind loses its
oldest records, never blocks the logger.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import Callable, Iterable

from viper.modules.logger.entries import LogEntry, LogFilter


class LogFeed:
    """One client's records: a bounded, drop-oldest queue filled from the loop's thread."""

    def __init__(
        self, log_filter: LogFilter, maxsize: int, on_close: Callable[[LogFeed], None]
    ) -> None:
        self.filter = log_filter
        self.maxsize = maxsize
        self.dropped = 0
        self.closed = False
        self._queue: collections.deque[LogEntry] = collections.deque()
        self._ready = asyncio.Event()
        self._on_close = on_close

    def offer(self, entry: LogEntry) -> None:
        """Queue `entry`, dropping this client's oldest when full."""
        if self.closed:
            return
        if len(self._queue) >= self.maxsize:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(entry)
        self._ready.set()

    async def get(self) -> LogEntry | None:
        """The next record; None once closed."""
        while not self._queue:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def close(self) -> None:
        """Stop receiving and wake the reader; safe twice."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._ready.set()
        self._on_close(self)


class LiveTail:
    """The open feeds, fed from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._maxsize = maxsize
        self._feeds: set[LogFeed] = set()

    @property
    def active(self) -> bool:
        """Whether any client listens (the sink builds entries only then)."""
        return bool(self._feeds)

    def __len__(self) -> int:
        return len(self._feeds)

    def open(self, log_filter: LogFilter, backlog: Iterable[LogEntry] = ()) -> LogFeed:
        """A new feed, primed with `backlog` (oldest first)."""
        feed = LogFeed(log_filter, self._maxsize, self._feeds.discard)
        for entry in backlog:
            feed.offer(entry)
        self._feeds.add(feed)
        return feed

    def publish(self, level_no: int, entry: LogEntry) -> None:
        """Hand `entry` to every feed whose filter it passes; callable from any thread."""
        if threading.get_ident() == self._loop_thread:
            self._deliver(level_no, entry)
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self._deliver, level_no, entry)

    def _deliver(self, level_no: int, entry: LogEntry) -> None:
        for feed in list(self._feeds):
            if feed.filter.matches(level_no, entry):
                feed.offer(entry)

    def close_all(self) -> None:
        """End every stream."""
        for feed in list(self._feeds):
            feed.close()
